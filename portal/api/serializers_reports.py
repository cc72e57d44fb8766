"""The yearly report's shape (portal/search/yearly_report.py, `report_data`), for the OpenAPI
schema: the views return the service's own dictionary, so page, CSV and API cannot drift."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.search.models import Authorisation, Disclosure


class PeriodSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    _from = serializers.DateTimeField(help_text="The first instant of the year (UTC).")
    to = serializers.DateTimeField(help_text="The first instant after the year: the period is [from, to).")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("_from")
        return fields


class PurposeCountSerializer(serializers.Serializer):
    purpose = serializers.CharField(allow_blank=True, help_text="As written (trimmed; empty when none was given).")
    searches = serializers.IntegerField()


class ByAuthorisationSerializer(serializers.Serializer):
    def get_fields(self):
        return {value: serializers.IntegerField(help_text=str(label)) for value, label in Authorisation.choices}


@extend_schema_field({"type": "object", "additionalProperties": {"type": "integer"},
                      "description": "Searches per month, keyed YYYY-MM, all twelve months."})
class ByMonthField(serializers.DictField):
    pass


class SearchFiguresSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Searches run in the year.")
    by_month = ByMonthField(child=serializers.IntegerField())
    by_purpose = PurposeCountSerializer(many=True, help_text="Purposes compared case-insensitively, most first.")
    by_authorisation = ByAuthorisationSerializer(
        help_text="An urgent search past its 48 hours without a decision counts as overdue.")
    results_erased = serializers.IntegerField(help_text="Searches whose results were deleted for want of an "
                                                        "authorisation (their matches no longer count).")


class MatchFiguresSerializer(serializers.Serializer):
    leads_shown = serializers.IntegerField(help_text="Matches at or above their search's threshold.")
    confirmed = serializers.IntegerField(help_text="Matches confirmed by the review rule, as it stands now.")
    rejected = serializers.IntegerField()
    inconclusive = serializers.IntegerField()


class UrgentFiguresSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    granted = serializers.IntegerField()
    refused = serializers.IntegerField()
    overdue = serializers.IntegerField(help_text="No decision within 48 hours.")
    pending = serializers.IntegerField(help_text="Still within its 48 hours.")


class ExportFiguresSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Evidence packs exported (disclosures) in the year.")

    def get_fields(self):
        return {**super().get_fields(), **{value: serializers.IntegerField() for value in Disclosure.Format.values}}


class FiguresSerializer(serializers.Serializer):
    searches = SearchFiguresSerializer()
    matches = MatchFiguresSerializer()
    urgent_searches = UrgentFiguresSerializer()
    evidence_pack_exports = ExportFiguresSerializer()


class ReportTenantSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()


class YearlyReportSerializer(FiguresSerializer):
    period = PeriodSerializer()
    generated_at = serializers.DateTimeField()
    tenant = ReportTenantSerializer()


class PlatformTenantReportSerializer(FiguresSerializer):
    tenant = ReportTenantSerializer()


class PlatformYearlyReportSerializer(serializers.Serializer):
    period = PeriodSerializer()
    generated_at = serializers.DateTimeField()
    tenants = PlatformTenantReportSerializer(many=True, help_text="One entry per tenant, by name.")
    totals = FiguresSerializer(help_text="The sum over every tenant.")
