"""Data subjects' requests: the public form (/opt-out/, no account), the requester's confirmation
and status pages (reached by unguessable links), and the operator's dashboard and request page
(/platform/requests/). Views parse input, call one service or selector, and render."""

from __future__ import annotations

import io

from PIL import Image as PILImage
from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from portal.audit.services import Actor
from portal.errors import DomainError, form_error_add
from portal.platform.request_forms import ExtendForm, PlatformDecisionForm, RejectForm, RequestForm, VerifyForm
from portal.platform.views import _actor, _enforcement_enqueue, platform_view
from portal.public_limits import public_form_limited
from portal.rights import answers, decisions, selectors, services
from portal.rights.models import ERASING_KINDS, DataSubjectRequest


def _public_actor(request) -> Actor:
    return Actor(label=_("public request form"), ip_address=request.META.get("REMOTE_ADDR"))


# -- the public side ----------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def public_request(request):
    if request.method == "POST" and public_form_limited(request, form="opt-out"):
        # Refused before the pictures are read or any face is detected.
        return render(request, "platform/public_opt_out.html", {"form": RequestForm(), "limited": True}, status=429)
    form = RequestForm(request.POST or None, request.FILES or None, initial={"kind": request.GET.get("kind")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            submitted = services.request_submit(
                kind=data["kind"], email=data["email"], picture=data["picture"], document=data["document"],
                consent=data["consent"], full_name=data["full_name"], region=data["region"],
                actor=_public_actor(request),
                confirm_url=lambda token: request.build_absolute_uri(reverse("public_request_confirm", args=[token])),
                status_url=lambda token: request.build_absolute_uri(reverse("public_request_status", args=[token])))
        except DomainError as error:
            form_error_add(form, error)
        else:
            status_url = reverse("public_request_status", args=[submitted.status_token])
            response = render(request, "platform/public_opt_out_done.html",
                              {"request_": submitted.request, "status_url": status_url})
            response["Cache-Control"] = "no-store"  # the page carries the status link
            return response
    return render(request, "platform/public_opt_out.html", {"form": form})


@never_cache
@require_GET
def public_request_confirm(request, token):
    try:
        confirmed = services.request_email_confirm(token=token, actor=_public_actor(request))
    except services.RequestNotFound:
        raise Http404 from None
    return render(request, "platform/public_request_confirmed.html", {"request_": confirmed})


@never_cache
@require_GET
def public_request_status(request, token):
    try:
        found = services.request_by_status_token(token=token)
    except services.RequestNotFound:
        raise Http404 from None
    context = selectors.request_status_view(request=found)
    context.update(answer_state=answers.answer_state(found), answer_until=answers.answer_available_until(found),
                   token=token)
    return render(request, "platform/public_request_status.html", context)


@never_cache
@require_GET
def public_request_answer(request, token, fmt):
    """The access answer (GDPR Art. 15), as a PDF or a ZIP, built now in the page's language, and
    never kept by a cache (never_cache). A forged link is a 404; an expired answer is a 410 with
    the status page explaining it."""
    try:
        found = services.request_by_status_token(token=token)
    except services.RequestNotFound:
        raise Http404 from None
    state = answers.answer_state(found)
    if state == answers.AnswerState.EXPIRED:
        context = {**selectors.request_status_view(request=found), "answer_state": state,
                   "answer_until": answers.answer_available_until(found), "token": token}
        return render(request, "platform/public_request_status.html", context, status=410)
    if state != answers.AnswerState.READY:
        raise Http404
    answer = answers.access_answer_for(request=found, language=get_language() or "en", actor=_public_actor(request))
    content_type = {"pdf": "application/pdf", "zip": "application/zip"}[fmt]
    response = HttpResponse(answer.pdf if fmt == "pdf" else answer.zip, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{found.reference.lower()}-answer.{fmt}"'
    return response


# -- the operator's side ------------------------------------------------------------------------

def _request_or_404(request_id: int) -> DataSubjectRequest:
    try:
        return selectors.request_get(request_id=request_id)
    except DataSubjectRequest.DoesNotExist:
        raise Http404 from None


@platform_view
@require_GET
def requests_dashboard(request):
    status = request.GET.get("status") or None
    if status not in DataSubjectRequest.Status.values:
        status = None
    return render(request, "platform/requests.html", {**selectors.requests_dashboard(status=status),
                                                      "status": status})


def _decide(request, found: DataSubjectRequest):
    form = PlatformDecisionForm(request.POST, prefix="decide")
    if not form.is_valid():
        return form
    data, comply = form.cleaned_data, form.cleaned_data["decision"] == "comply"
    if comply and found.kind in ERASING_KINDS and data["confirm_reference"].strip().upper() != found.reference:
        form.add_error("confirm_reference", _("Type the reference %(reference)s to confirm the erasure.")
                       % {"reference": found.reference})
        return form
    _found, order = decisions.request_platform_decide(request=found, actor=_actor(request), comply=comply,
                                                      reason=data["reason"])
    if order is not None:
        _enforcement_enqueue(order)
    messages.success(request, _("Decision recorded for the platform index."))
    return None


@platform_view
@require_http_methods(["GET", "POST"])
def request_detail(request, request_id):
    found = _request_or_404(request_id)
    # Prefixed: the forms share a page, so their fields' ids must differ.
    forms = {"verify_form": VerifyForm(prefix="verify"), "reject_form": RejectForm(prefix="reject"),
             "decision_form": PlatformDecisionForm(prefix="decide"), "extend_form": ExtendForm(prefix="extend")}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "verify":
                forms["verify_form"] = form = VerifyForm(request.POST, prefix="verify")
                if form.is_valid():
                    services.request_verify(request=found, actor=_actor(request), note=form.cleaned_data["note"])
                    messages.success(request, _("Verified: the request was searched for and forwarded to the "
                                                "tenants holding the person's pictures."))
                    return redirect("platform_request", request_id=found.pk)
            elif action == "reject":
                forms["reject_form"] = form = RejectForm(request.POST, prefix="reject")
                if form.is_valid():
                    services.request_reject(request=found, actor=_actor(request), reason=form.cleaned_data["reason"])
                    messages.success(request, _("Rejected; the identity document and the face templates were deleted."))
                    return redirect("platform_request", request_id=found.pk)
            elif action == "decide":
                forms["decision_form"] = _decide(request, found)
                if forms["decision_form"] is None:
                    return redirect("platform_request", request_id=found.pk)
            elif action == "extend":
                forms["extend_form"] = form = ExtendForm(request.POST, prefix="extend")
                if form.is_valid():
                    decisions.request_extend(request=found, actor=_actor(request), **form.cleaned_data)
                    messages.success(request, _("Deadline extended; the requester was told why by e-mail."))
                    return redirect("platform_request", request_id=found.pk)
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("platform_request", request_id=found.pk)
        found = _request_or_404(request_id)
    context = {"request_": found, "forwarded": selectors.request_forwarded_list(request=found),
               "clock": selectors.request_status_view(request=found), **forms}
    return render(request, "platform/request_detail.html", context)


@never_cache
@platform_view
@require_GET
def request_face(request, request_id, which):
    """The request picture's face, the document's face or the document, while verification lasts."""
    found = _request_or_404(request_id)
    name = {"face": found.request_face_crop, "document-face": found.document_face_crop,
            "document": found.document_picture}.get(which)
    if not name or not default_storage.exists(name):
        raise Http404
    with default_storage.open(name, "rb") as handle:
        data = handle.read()
    try:
        kind = PILImage.open(io.BytesIO(data)).format or ""
    except OSError:
        kind = ""
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}.get(kind, "application/octet-stream")
    return HttpResponse(data, content_type=content_type)
