"""The API's shapes for human oversight of a search (EU AI Act Art. 14(5), 26(10)): the review
of its matches and its authorisation. portal/api/serializers.py nests them in a search's answer."""

from rest_framework import serializers

from portal.search.models import Authorisation, Verdict


class VerdictSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reviewer = serializers.CharField(source="reviewer_label")
    reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    audit_position = serializers.IntegerField(help_text="Position of the verdict's event in the tenant's audit chain.")


class ReviewStateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["unconfirmed", "confirmed", "rejected", "inconclusive"],
                                    help_text="Each reviewer's latest verdict counts; a standing rejected or "
                                              "inconclusive one blocks confirmation (docs/compliance.md).")
    confirmations = serializers.IntegerField(help_text="People who stand by a confirmed verdict.")
    confirmations_required = serializers.IntegerField(source="required")
    verdicts = VerdictSerializer(many=True, help_text="Every verdict, oldest first; none is ever edited.")


class SearchAuthorisationSerializer(serializers.Serializer):
    status = serializers.ChoiceField(source="authorisation", choices=Authorisation.choices)
    urgent = serializers.BooleanField()
    authority = serializers.CharField(source="authorisation_authority", allow_blank=True)
    reference = serializers.CharField(source="authorisation_reference", allow_blank=True)
    date = serializers.DateField(source="authorisation_date", allow_null=True)
    due_at = serializers.DateTimeField(source="authorisation_due_at", allow_null=True,
                                       help_text="Urgent searches: when the results are deleted if none is recorded.")
    recorded_at = serializers.DateTimeField(source="authorisation_recorded_at", allow_null=True)


class AuthorisationRecordSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["granted", "refused"],
                                       help_text="A refusal deletes the search's matches, probe and embedding at once.")
    authority = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=100)
    date = serializers.DateField(help_text="The decision's date: not before the search, not in the future.")


class ReviewCreateSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="",
                                   help_text="Required for confirmed and rejected: what was compared and found.")


class ReviewResultSerializer(serializers.Serializer):
    verdict = VerdictSerializer()
    match_review = ReviewStateSerializer()
