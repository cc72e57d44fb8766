"""Forms of data subjects' requests: the public form, and the operator's decisions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _, gettext_lazy

from portal.faces.imaging import ACCEPT as PICTURE_ACCEPT
from portal.platform.forms import MAX_PICTURE_BYTES, _country_choices
from portal.rights.decisions import MAX_EXTENSION_MONTHS
from portal.rights.models import RefusalGround, RequestKind


class PictureField(forms.FileField):
    """One picture, returned as bytes."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": PICTURE_ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload is None:
            return None
        if upload.size > MAX_PICTURE_BYTES:
            raise forms.ValidationError(_("%(name)s is larger than 20 MB.") % {"name": upload.name})
        return upload.read()


class RequestForm(forms.Form):
    kind = forms.ChoiceField(choices=RequestKind.choices, initial=RequestKind.OPT_OUT, widget=forms.RadioSelect,
                             label=gettext_lazy("What do you ask for?"))
    email = forms.EmailField(max_length=254, label=gettext_lazy("Your e-mail address"),
                             help_text=gettext_lazy("We send a link to confirm it; nothing is searched before you "
                                                    "follow it."))
    full_name = forms.CharField(max_length=200, required=False, label=gettext_lazy("Name (optional)"))
    region = forms.ChoiceField(choices=_country_choices, required=False, label=gettext_lazy("Country you live in"))
    picture = PictureField(label=gettext_lazy("A picture of your face"),
                           help_text=gettext_lazy("Only you in the picture. We keep a numeric template of the face, "
                                                  "never the picture."))
    document = PictureField(label=gettext_lazy("A picture of your identity document"),
                            help_text=gettext_lazy("So that we can check the request is yours. It is deleted as soon "
                                                   "as we have checked it."))
    consent = forms.BooleanField(required=True, label=gettext_lazy(
        "I consent to the operator keeping a numeric template of my face while my request is handled and, if I "
        "ask to opt out, to refuse pictures of me in future."))


class VerifyForm(forms.Form):
    compared = forms.BooleanField(required=True, label=gettext_lazy(
        "I compared the two faces and the document: the requester is the person in the request picture."))
    note = forms.CharField(max_length=500, required=False, label=gettext_lazy("Note (optional)"))


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=500, label=gettext_lazy("Reason, sent to the requester"))


class PlatformDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("comply", gettext_lazy("Comply")), ("refuse", gettext_lazy("Refuse"))],
                                 widget=forms.RadioSelect, label=gettext_lazy("Decision for the platform index"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                             label=gettext_lazy("Reason (required to refuse)"))
    confirm_reference = forms.CharField(max_length=40, required=False, label=gettext_lazy(
        "To comply with an erasure, type the request's reference"))


class ExtendForm(forms.Form):
    months = forms.TypedChoiceField(coerce=int, choices=[(n, n) for n in range(1, MAX_EXTENSION_MONTHS + 1)],
                                    label=gettext_lazy("Extend by (months)"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=1000,
                             label=gettext_lazy("Reason, sent to the requester"))


class TenantDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("comply", gettext_lazy("Comply")), ("refuse", gettext_lazy("Refuse"))],
                                 widget=forms.RadioSelect, label=gettext_lazy("Your decision"))
    ground = forms.ChoiceField(choices=[("", "—"), *RefusalGround.choices], required=False,
                               label=gettext_lazy("Legal ground of a refusal"))
    reasoning = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000,
                                label=gettext_lazy("Reasoning of a refusal"))
    confirm_reference = forms.CharField(max_length=40, required=False, label=gettext_lazy(
        "To comply with an erasure, type the request's reference"))
