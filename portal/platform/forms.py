"""Forms of the platform area and the public opt-out page: they parse input, services decide."""

from __future__ import annotations

import pycountry
from django import forms
from django.utils import timezone

from portal.compliance.models import RegulatoryOrder
from portal.faces.imaging import ACCEPT as PICTURE_ACCEPT
from portal.compliance.orders import DEFAULT_SUBJECT_THRESHOLD
from tenants.models import Tenant

MAX_PICTURES = 5
MAX_PICTURE_BYTES = 20 * 1024 * 1024


class MultiplePictureInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PicturesField(forms.FileField):
    """Up to MAX_PICTURES pictures; returns their bytes."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultiplePictureInput(attrs={"accept": PICTURE_ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        if not files:
            if self.required:
                raise forms.ValidationError("Choose at least one picture.")
            return []
        if len(files) > MAX_PICTURES:
            raise forms.ValidationError(f"At most {MAX_PICTURES} pictures.")
        pictures = []
        for upload in files:
            if upload.size > MAX_PICTURE_BYTES:
                raise forms.ValidationError(f"{upload.name} is larger than 20 MB.")
            pictures.append(upload.read())
        return pictures


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


class OrderForm(forms.Form):
    kind = forms.ChoiceField(choices=RegulatoryOrder.Kind.choices)
    authority = forms.CharField(max_length=200, help_text="e.g. CNIL")
    reference = forms.CharField(max_length=100, help_text="The authority's decision number.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    received_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    effective_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                       help_text="UTC.")
    deadline = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    regions = forms.CharField(required=False, help_text="Regional: ISO codes, comma-separated (FR, US-IL).")
    include_unknown_region = forms.BooleanField(required=False, help_text="Regional: also pictures of unknown region.")
    domains = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Source: one domain a line; subdomains are included.")
    reference_pictures = PicturesField(required=False, help_text="Subject erasure: pictures of the person (not kept).")
    match_threshold = forms.FloatField(required=False, min_value=0.5, max_value=1.0, initial=DEFAULT_SUBJECT_THRESHOLD,
                                       help_text="Subject erasure: similarity from which a face is the person.")
    offboard_tenants = forms.ModelMultipleChoiceField(queryset=Tenant.objects.all(), required=False,
                                                      widget=forms.CheckboxSelectMultiple)
    scope_all = forms.BooleanField(required=False, initial=True, label="All tenants and the platform index")
    scope_tenants = forms.ModelMultipleChoiceField(queryset=Tenant.objects.all(), required=False,
                                                   widget=forms.CheckboxSelectMultiple, label="Or only these tenants")
    scope_platform_index = forms.BooleanField(required=False, initial=True, label="…and the platform index")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["received_on"].initial = today
        self.fields["effective_at"].initial = timezone.now().replace(second=0, microsecond=0)

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"], "authority": data["authority"], "reference": data["reference"],
            "description": data["description"], "received_on": data["received_on"],
            "effective_at": data["effective_at"], "deadline": data["deadline"], "regions": _lines(data["regions"]),
            "include_unknown_region": data["include_unknown_region"], "domains": _lines(data["domains"]),
            "reference_pictures": data["reference_pictures"], "match_threshold": data["match_threshold"],
            "offboard_tenants": list(data["offboard_tenants"]), "scope_all": data["scope_all"],
            "scope_tenants": list(data["scope_tenants"]), "scope_platform_index": data["scope_platform_index"],
        }


def _country_choices():
    return [("", "Choose a country")] + sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])


class OptOutForm(forms.Form):
    """The operator's form and, with `public=True`, the public one (no account)."""

    full_name = forms.CharField(max_length=200, required=False, label="Name (optional)")
    contact = forms.CharField(max_length=254, label="E-mail or postal address for our reply")
    region = forms.ChoiceField(choices=_country_choices, required=False, label="Country you live in")
    pictures = PicturesField(label="Pictures of your face", help_text="Up to 5. Only a numeric template of the face is "
                             "kept, never the picture.")
    consent = forms.BooleanField(required=True, label="I consent to the operator keeping a numeric template of my "
                                 "face, only to recognise and refuse pictures of me in future.")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Notes (operator)")

    def __init__(self, *args, public: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if public:
            del self.fields["notes"]
        else:
            self.fields["pictures"].label = "Pictures of the person"
            self.fields["consent"].label = "The person consented to keeping their suppression template"
            self.fields["region"].label = "Country the person lives in"


class TenantCreateForm(forms.Form):
    slug = forms.SlugField(max_length=63)
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Tenant.Kind.choices)
    home_country = forms.ChoiceField(choices=_country_choices)
    may_search_platform_index = forms.BooleanField(required=False, label="May search the platform index")
    case_reference_required = forms.BooleanField(required=False, initial=True)
    probe_retention_days = forms.IntegerField(min_value=1, max_value=3650, initial=30)


class TenantEntitlementsForm(forms.Form):
    may_search_platform_index = forms.BooleanField(required=False, label="May search the platform index")
    case_reference_required = forms.BooleanField(required=False)
    probe_retention_days = forms.IntegerField(min_value=1, max_value=3650)


class TokenForm(forms.Form):
    token = forms.CharField(max_length=8, label="6-digit code from your authenticator app",
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                          "pattern": "[0-9 ]*", "autofocus": True}))


class EnrolmentCodeForm(forms.Form):
    enrolment_code = forms.CharField(max_length=32, label="Enrolment code from another operator",
                                     widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True,
                                                                   "autocapitalize": "characters",
                                                                   "spellcheck": "false"}))


class VerifyForm(forms.Form):
    token = forms.CharField(max_length=24, label="Code from your authenticator app, or a backup code",
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                                          "autocapitalize": "off", "spellcheck": "false"}))


class AuditFilterForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.all(), required=False, empty_label="All tenants")
    platform_only = forms.BooleanField(required=False, label="Platform events only")
    action = forms.CharField(required=False, label="Action starts with")
    actor = forms.CharField(required=False, label="Actor contains")
    created_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    created_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")
