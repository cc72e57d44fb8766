"""Forms of the customer portal: they parse and validate input; services do the work."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.contrib.auth import password_validation

from portal.api.models import ApiKeyScope
from portal.faces.imaging import ACCEPT as PICTURE_ACCEPT
from portal.gallery.models import LegalBasis
from portal.search.authorisations import AuthorisationGiven
from portal.webhooks.models import EventType
from tenants.models import Membership, Tenant, User


class PortalForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")  # labels sit above their fields; no colon needed
        super().__init__(*args, **kwargs)


class SearchForm(PortalForm):
    picture = forms.FileField(
        label=_("Probe picture"), help_text=_("JPEG, PNG or WebP, up to 20 MB. The largest face is used unless you pick another."),
        widget=forms.ClearableFileInput(attrs={"accept": PICTURE_ACCEPT}),
    )
    case_reference = forms.CharField(label=_("Case reference"), max_length=100, required=False)
    purpose = forms.CharField(label=_("Purpose"), max_length=500, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text=_("Why this search is needed; it is kept in the audit log."))
    face_index = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    # Law-enforcement tenants only (EU AI Act Art. 26(10), portal/search/authorisations.py).
    authorisation_authority = forms.CharField(label=_("Authorising authority"), max_length=200, required=False,
                                              help_text=_("The court or administrative authority that authorised "
                                                          "this search."))
    authorisation_reference = forms.CharField(label=_("Authorisation reference"), max_length=100, required=False)
    authorisation_date = forms.DateField(label=_("Date of the decision"), required=False,
                                         widget=forms.DateInput(attrs={"type": "date"}))
    urgent = forms.BooleanField(label=_("Urgent: run now, record the authorisation within 48 hours"), required=False,
                                help_text=_("Without an authorisation recorded in 48 hours, or if it is refused, the "
                                            "results, the probe and its embedding are deleted."))

    AUTHORISATION_FIELDS = ("authorisation_authority", "authorisation_reference", "authorisation_date", "urgent")

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        if tenant.case_reference_required:
            self.fields["case_reference"].required = True
            self.fields["purpose"].required = True
            self.fields["case_reference"].help_text = _("Required by your organisation for every search.")
        if tenant.kind != Tenant.Kind.LAW_ENFORCEMENT:
            for name in self.AUTHORISATION_FIELDS:
                del self.fields[name]

    def authorisation_fields(self):
        return [self[name] for name in self.AUTHORISATION_FIELDS if name in self.fields]

    def authorisation_given(self) -> AuthorisationGiven | None:
        if "urgent" not in self.fields:
            return None
        data = self.cleaned_data
        return AuthorisationGiven(authority=data["authorisation_authority"], reference=data["authorisation_reference"],
                                  date=data["authorisation_date"], urgent=data["urgent"])


class ProbeFaceSearchForm(SearchForm):
    """Searches another face of a stored probe: the search form without the picture, the face
    chosen among those found in it."""

    def __init__(self, *args, faces: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["picture"]
        self.fields["face_index"] = forms.TypedChoiceField(
            label=_("Face to search"), coerce=int, widget=forms.RadioSelect,
            choices=[(face["index"], _("Face %(number)s") % {"number": face["index"] + 1}) for face in faces])


class AuthorisationRecordForm(PortalForm):
    decision = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect,
                                 choices=[("granted", _("Granted")), ("refused", _("Refused"))])
    authority = forms.CharField(label=_("Authority"), max_length=200)
    reference = forms.CharField(label=_("Reference"), max_length=100)
    date = forms.DateField(label=_("Date of the decision"), widget=forms.DateInput(attrs={"type": "date"}))


class SearchFilterForm(PortalForm):
    created_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    case_reference = forms.CharField(label=_("Case reference"), max_length=100, required=False)
    # Members are named by their membership's public id: a user id is a platform-wide number.
    user = forms.ChoiceField(label=_("Run by"), required=False)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self._user_ids = {str(m.public_id): m.user_id for m in members}
        self.fields["user"].choices = [("", "Anyone")] + [(str(m.public_id), m.user.email) for m in members]

    def clean_user(self) -> int | None:
        """The chosen member's user id, for the query."""
        return self._user_ids.get(self.cleaned_data["user"])


class SubjectForm(PortalForm):
    label = forms.CharField(label=_("Name or label"), max_length=200)
    reference = forms.CharField(label=_("Your reference"), max_length=100, required=False,
                                help_text=_("Your own record number, if any."))
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": PICTURE_ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            if not data and self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)]


class EnrolForm(PortalForm):
    pictures = MultipleFileField(label=_("Picture files"), help_text=_("Choose one or many; each is checked and enrolled on its own."))
    legal_basis = forms.ChoiceField(label=_("Legal basis"), choices=[("", "Choose the legal basis…"), *LegalBasis.choices],
                                    help_text=_("Why your organisation may hold these pictures; shown with every match."))
    source_url = forms.URLField(label=_("Source address"), required=False, max_length=2000, assume_scheme="https",
                                help_text=_("Where the pictures come from, if they have an address."))
    region = forms.CharField(label=_("Region"), required=False, max_length=6,
                             help_text=_("ISO 3166 code, e.g. GB or US-IL. Left empty: taken from the picture or your organisation."))
    collected_at = forms.DateTimeField(label=_("Collected on"), required=False,
                                       widget=forms.DateInput(attrs={"type": "date"}))


class MemberInviteForm(PortalForm):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.INVESTIGATOR)


class InvitationAccountForm(PortalForm):
    """A new person's account, made when they accept an invitation: they choose the password."""

    full_name = forms.CharField(label=_("Your name"), max_length=150, required=False)
    password1 = forms.CharField(label=_("Choose a password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("The password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html()

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                password_validation.validate_password(first, user=User(email=self.email,
                                                                      full_name=cleaned.get("full_name", "")))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class MemberRoleForm(PortalForm):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class TenantSettingsForm(PortalForm):
    case_reference_required = forms.BooleanField(
        label=_("A case reference is required for every search"), required=False)
    probe_retention_days = forms.IntegerField(
        label=_("Keep probe pictures for (days)"), min_value=1, max_value=3650,
        help_text=_("After this, the picture searched with is deleted; the search record and its matches stay."))
    two_person_review = forms.BooleanField(
        label=_("Two different people must confirm a match before it counts or can be exported"), required=False)
    search_min_threshold = forms.FloatField(
        label=_("Lowest lead threshold for your searches"), required=False, min_value=0.0, max_value=1.0,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text=_("Empty: the platform's floor. You may set a stricter one, never a looser one."))
    search_max_k = forms.IntegerField(
        label=_("Most matches per search"), required=False, min_value=1,
        help_text=_("Empty: the platform's limit. You may set a lower one, never a higher one."))

    two_factor_required = forms.BooleanField(
        label=_("Every member must sign in with two-factor log-in (a code from an authenticator app)"),
        required=False, help_text=_("Only an owner can change this. Always on for law enforcement."))

    LIMIT_FIELDS = ("search_min_threshold", "search_max_k")


class ApiKeyCreateForm(PortalForm):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What the key is for, e.g. 'case system'."))
    scopes = forms.MultipleChoiceField(label=_("What it may do"), choices=ApiKeyScope.choices,
                                       initial=[ApiKeyScope.SEARCH], widget=forms.CheckboxSelectMultiple)


class SignedHeadCheckForm(PortalForm):
    MAX_BYTES = 64 * 1024
    kept = forms.FileField(label=_("A signed head you kept (.json)"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}))

    def clean_kept(self) -> bytes:
        kept = self.cleaned_data["kept"]
        if kept.size > self.MAX_BYTES:
            raise forms.ValidationError(_("A signed head is a few hundred bytes; this file is too large to be one."))
        return kept.read()


class WebhookEndpointForm(PortalForm):
    url = forms.CharField(label=_("Address"), max_length=500,
                          help_text=_("An https:// address of your system that accepts POST requests."),
                          widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "off"}))
    events = forms.MultipleChoiceField(label=_("Events"), widget=forms.CheckboxSelectMultiple, choices=[
        (EventType.DISCLOSURE_RECALLED, _("disclosure.recalled: a face you received was erased or restricted")),
        (EventType.REQUEST_FORWARDED, _("request.forwarded: a data subject's request was forwarded to you")),
        (EventType.ORDER_ACTIVATED, _("order.activated: an order affecting your gallery came into force")),
        (EventType.SEARCH_COMPLETED, _("search.completed: one of your searches finished")),
    ], initial=[EventType.DISCLOSURE_RECALLED, EventType.REQUEST_FORWARDED, EventType.ORDER_ACTIVATED])


class AuditFilterForm(PortalForm):
    created_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.CharField(label=_("Who"), required=False, max_length=200)

    def __init__(self, *args, actions: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("Any action"))] + [(a, a) for a in actions]


class TwoFactorEnrolForm(PortalForm):
    token = forms.CharField(
        max_length=8, label=_("6-digit code from your authenticator app"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*",
                                      "autofocus": True}))


class TwoFactorCodeForm(PortalForm):
    token = forms.CharField(
        max_length=24, label=_("Code from your authenticator app, or a backup code"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "autocapitalize": "off",
                                      "spellcheck": "false"}))
