"""Forms of the platform area and the public opt-out page: they parse input, services decide."""

from __future__ import annotations

import gettext as gettext_catalog
import unicodedata

import pycountry
from django import forms
from django.utils import timezone

from portal.compliance.models import RegulatoryOrder
from portal.faces.imaging import ACCEPT as PICTURE_ACCEPT
from portal.compliance.orders import DEFAULT_SUBJECT_THRESHOLD
from tenants.models import Tenant
from django.utils.translation import get_language, gettext as _, gettext_lazy

MAX_PICTURES = 5


def strxfrm_key(name: str) -> str:
    """Sorts « Égypte » with E, not after Z."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
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
                raise forms.ValidationError(_("Choose at least one picture."))
            return []
        if len(files) > MAX_PICTURES:
            raise forms.ValidationError(_("At most %(count)s pictures.") % {"count": MAX_PICTURES})
        pictures = []
        for upload in files:
            if upload.size > MAX_PICTURE_BYTES:
                raise forms.ValidationError(_("%(name)s is larger than 20 MB.") % {"name": upload.name})
            pictures.append(upload.read())
        return pictures


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


class OrderForm(forms.Form):
    kind = forms.ChoiceField(choices=RegulatoryOrder.Kind.choices, label=gettext_lazy("Kind"))
    authority = forms.CharField(max_length=200, label=gettext_lazy("Authority"), help_text=gettext_lazy("e.g. CNIL"))
    reference = forms.CharField(max_length=100, label=gettext_lazy("Reference"), help_text=gettext_lazy("The authority's decision number."))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=gettext_lazy("Description"), required=False)
    received_on = forms.DateField(label=gettext_lazy("Received on"), widget=forms.DateInput(attrs={"type": "date"}))
    effective_at = forms.DateTimeField(label=gettext_lazy("Effective at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                       help_text=gettext_lazy("UTC."))
    deadline = forms.DateField(label=gettext_lazy("Deadline"), widget=forms.DateInput(attrs={"type": "date"}))
    regions = forms.CharField(label=gettext_lazy("Regions"), required=False, help_text=gettext_lazy("Regional: ISO codes, comma-separated (FR, US-IL)."))
    include_unknown_region = forms.BooleanField(label=gettext_lazy("Include unknown region"), required=False, help_text=gettext_lazy("Regional: also pictures of unknown region."))
    domains = forms.CharField(label=gettext_lazy("Domains"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=gettext_lazy("Source: one domain a line; subdomains are included."))
    reference_pictures = PicturesField(label=gettext_lazy("Reference pictures"), required=False, help_text=gettext_lazy("Subject erasure: pictures of the person (not kept)."))
    match_threshold = forms.FloatField(label=gettext_lazy("Match threshold"), required=False, min_value=0.5, max_value=1.0, initial=DEFAULT_SUBJECT_THRESHOLD,
                                       help_text=gettext_lazy("Subject erasure: similarity from which a face is the person."))
    offboard_tenants = forms.ModelMultipleChoiceField(label=gettext_lazy("Offboard tenants"), queryset=Tenant.objects.all(), required=False,
                                                      widget=forms.CheckboxSelectMultiple)
    scope_all = forms.BooleanField(required=False, initial=True, label=gettext_lazy("All tenants and the platform index"))
    scope_tenants = forms.ModelMultipleChoiceField(queryset=Tenant.objects.all(), required=False,
                                                   widget=forms.CheckboxSelectMultiple, label=gettext_lazy("Or only these tenants"))
    scope_platform_index = forms.BooleanField(required=False, initial=True, label=gettext_lazy("…and the platform index"))

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
    """Every country, named in the active language (pycountry ships the ISO 3166 names' translations)."""
    names = gettext_catalog.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[get_language() or "en"],
                                        fallback=True)
    countries = ((c.alpha_2, names.gettext(c.name)) for c in pycountry.countries)
    return [("", _("Choose a country"))] + sorted(countries, key=lambda c: strxfrm_key(c[1]))


class OptOutForm(forms.Form):
    """The operator's form and, with `public=True`, the public one (no account)."""

    full_name = forms.CharField(max_length=200, required=False, label=gettext_lazy("Name (optional)"))
    contact = forms.CharField(max_length=254, label=gettext_lazy("E-mail or postal address for our reply"))
    region = forms.ChoiceField(choices=_country_choices, required=False, label=gettext_lazy("Country you live in"))
    pictures = PicturesField(label=gettext_lazy("Pictures of your face"), help_text=gettext_lazy("Up to 5. Only a numeric template of the face is "
                             "kept, never the picture."))
    consent = forms.BooleanField(required=True, label=gettext_lazy("I consent to the operator keeping a numeric template of my "
                                 "face, only to recognise and refuse pictures of me in future."))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=gettext_lazy("Notes (operator)"))

    def __init__(self, *args, public: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if public:
            del self.fields["notes"]
        else:
            self.fields["pictures"].label = _("Pictures of the person")
            self.fields["consent"].label = _("The person consented to keeping their suppression template")
            self.fields["region"].label = _("Country the person lives in")


class TenantCreateForm(forms.Form):
    slug = forms.SlugField(label=gettext_lazy("Slug"), max_length=63)
    name = forms.CharField(max_length=200, label=gettext_lazy("Name"))
    kind = forms.ChoiceField(choices=Tenant.Kind.choices, label=gettext_lazy("Kind"))
    home_country = forms.ChoiceField(label=gettext_lazy("Home country"), choices=_country_choices)
    may_search_platform_index = forms.BooleanField(required=False, label=gettext_lazy("May search the platform index"))
    case_reference_required = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Case reference required"))
    probe_retention_days = forms.IntegerField(min_value=1, max_value=3650, initial=30, label=gettext_lazy("Probe retention days"))


class TenantEntitlementsForm(forms.Form):
    may_search_platform_index = forms.BooleanField(required=False, label=gettext_lazy("May search the platform index"))
    case_reference_required = forms.BooleanField(required=False, label=gettext_lazy("Case reference required"))
    probe_retention_days = forms.IntegerField(min_value=1, max_value=3650, label=gettext_lazy("Probe retention days"))


class TokenForm(forms.Form):
    token = forms.CharField(max_length=8, label=gettext_lazy("6-digit code from your authenticator app"),
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                          "pattern": "[0-9 ]*", "autofocus": True}))


class EnrolmentCodeForm(forms.Form):
    enrolment_code = forms.CharField(max_length=32, label=gettext_lazy("Enrolment code from another operator"),
                                     widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True,
                                                                   "autocapitalize": "characters",
                                                                   "spellcheck": "false"}))


class VerifyForm(forms.Form):
    token = forms.CharField(max_length=24, label=gettext_lazy("Code from your authenticator app, or a backup code"),
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                                          "autocapitalize": "off", "spellcheck": "false"}))


class AuditFilterForm(forms.Form):
    tenant = forms.ModelChoiceField(label=gettext_lazy("Tenant"), queryset=Tenant.objects.all(), required=False, empty_label=gettext_lazy("All tenants"))
    platform_only = forms.BooleanField(required=False, label=gettext_lazy("Platform events only"))
    action = forms.CharField(required=False, label=gettext_lazy("Action starts with"))
    actor = forms.CharField(required=False, label=gettext_lazy("Actor contains"))
    created_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label=gettext_lazy("From"))
    created_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label=gettext_lazy("To"))
