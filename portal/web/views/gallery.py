"""Gallery pages: subjects, enrolment of their pictures, pictures and their deletion."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext as _, ngettext
from django.views.decorators.http import require_GET, require_POST, require_http_methods

from portal.compliance.home_regions import home_region_refusals
from portal.errors import DomainError, domain_error_body, error_body
from portal.faces.imaging import MEDIA_TYPES
from portal.gallery import selectors as gallery_selectors
from portal.gallery import services as gallery_services
from portal.gallery.models import Image, Subject
from portal.web import forms
from portal.web.crops import stored_file_read
from portal.web.views.common import actor_of, page_of, picture_response, upload_read
from tenants.middleware import membership_required


@membership_required(allowed="can_search")
@require_http_methods(["GET", "POST"])
def subjects(request, tenant_slug):
    tenant = request.tenant
    form = forms.SubjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        subject = gallery_services.subject_create(tenant=tenant, actor=actor_of(request), **form.cleaned_data)
        messages.success(request, _("Subject “%(label)s” created. Now enrol their pictures.") % {"label": subject.label})
        return redirect("subject_detail", tenant_slug=tenant.slug, subject_id=subject.public_id)
    return render(request, "portal/subjects.html", {
        "form": form, "page": page_of(request, gallery_selectors.subjects_list(tenant=tenant)),
        "home_refusals": home_region_refusals(tenant=tenant),
    }, status=400 if form.errors else 200)


def _subject_or_404(request, subject_id) -> Subject:
    try:
        return gallery_selectors.subject_get(tenant=request.tenant, public_id=subject_id)
    except Subject.DoesNotExist:
        raise Http404 from None


def _subject_pictures(request, subject):
    return gallery_selectors.images_list(tenant=request.tenant, subject_id=subject.pk).prefetch_related("faces")


@membership_required(allowed="can_search")
@require_GET
def subject_detail(request, tenant_slug, subject_id):
    subject = _subject_or_404(request, subject_id)
    template = "portal/_subject_pictures.html" if request.htmx else "portal/subject_detail.html"
    return render(request, template, {
        "subject": subject, "pictures": _subject_pictures(request, subject), "enrol_form": forms.EnrolForm(),
        "home_refusals": home_region_refusals(tenant=request.tenant),
    })


@membership_required(allowed="can_search")
@require_POST
def subject_enrol(request, tenant_slug, subject_id):
    """Enrols one picture (the page's script sends them one by one and shows progress) or, from a
    plain form without script, several in turn. Answers JSON to the script, a page otherwise."""
    subject = _subject_or_404(request, subject_id)
    form = forms.EnrolForm(request.POST, request.FILES)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if not form.is_valid():
        if wants_json:
            fields = {field: list(errs) for field, errs in form.errors.items()}
            message = "; ".join(f"{field}: {' '.join(errs)}" if field != "__all__" else " ".join(errs)
                                for field, errs in fields.items())
            return JsonResponse(error_body(code="invalid", message=message, fields=fields), status=400)
        return render(request, "portal/subject_detail.html", {
            "subject": subject, "pictures": _subject_pictures(request, subject), "enrol_form": form,
            "home_refusals": home_region_refusals(tenant=request.tenant),
        }, status=400)

    provenance = {key: form.cleaned_data[key] for key in ("legal_basis", "source_url", "collected_at")}
    provenance["region"] = form.cleaned_data["region"] or None
    outcomes = [_enrol_one(request, subject, upload, provenance) for upload in form.cleaned_data["pictures"]]
    if wants_json:
        # The page's script sends one picture at a time: its outcome, or the API's error shape.
        outcome = outcomes[0]
        if isinstance(outcome, DomainError):
            return JsonResponse(domain_error_body(outcome), status=outcome.status)
        return JsonResponse(outcome)
    for upload, outcome in zip(form.cleaned_data["pictures"], outcomes):
        if isinstance(outcome, DomainError):
            messages.error(request, f"{upload.name}: {outcome.message}")
        else:
            messages.success(request, f"{upload.name}: {outcome['message']}")
    return redirect("subject_detail", tenant_slug=request.tenant.slug, subject_id=subject.public_id)


def _enrol_one(request, subject, upload, provenance) -> dict | DomainError:
    """The outcome of enrolling one picture, or the service's refusal."""
    try:
        result = gallery_services.subject_enrol(
            tenant=request.tenant, subject=subject, data=upload_read(upload), actor=actor_of(request), **provenance)
    except DomainError as error:
        return error
    faces = len(result.faces)
    if result.withheld_by:
        message = gettext("already in the gallery; the new provenance was recorded, and %(reference)s now covers "
                          "the picture, so it is withheld and will be deleted.") % {"reference": result.withheld_by}
    elif result.evidence_recorded:
        message = gettext("already in the gallery; the new provenance was recorded on it.")
    elif not result.created:
        message = _("already in the gallery; nothing added.")
    else:
        message = ngettext("enrolled, %(faces)s face found.", "enrolled, %(faces)s faces found.", faces) % {"faces": faces}
    return {"ok": True, "name": upload.name, "created": result.created, "faces": faces,
            "image_id": str(result.image.public_id), "message": message}


@membership_required(allowed="can_search")
@require_POST
def subject_delete(request, tenant_slug, subject_id):
    subject = _subject_or_404(request, subject_id)
    gallery_services.subject_delete(tenant=request.tenant, subject=subject, actor=actor_of(request))
    messages.success(request, _("Subject “%(label)s” and their pictures were deleted.") % {"label": subject.label})
    return redirect("subjects", tenant_slug=request.tenant.slug)


def _image_or_404(request, image_id) -> Image:
    try:
        return gallery_selectors.image_get(tenant=request.tenant, public_id=image_id)
    except Image.DoesNotExist:
        raise Http404 from None


@membership_required(allowed="can_search")
@require_GET
def image_file(request, tenant_slug, image_id):
    image = _image_or_404(request, image_id)
    if image.withheld:
        raise Http404
    try:
        data = stored_file_read(name=image.file.name)
    except FileNotFoundError:
        raise Http404 from None
    return picture_response(data, content_type=MEDIA_TYPES.get(image.format, "image/jpeg"))


@membership_required(allowed="can_search")
@require_GET
def image_thumbnail(request, tenant_slug, image_id):
    """The picture's thumbnail, under the same checks as the picture itself."""
    image = _image_or_404(request, image_id)
    if image.withheld or not image.thumbnail:
        raise Http404
    try:
        data = stored_file_read(name=image.thumbnail.name)
    except FileNotFoundError:
        raise Http404 from None
    return picture_response(data, content_type="image/jpeg")


@membership_required(allowed="can_search")
@require_POST
def image_delete(request, tenant_slug, image_id):
    image = _image_or_404(request, image_id)
    subject = image.subject
    gallery_services.image_delete(tenant=request.tenant, image=image, actor=actor_of(request))
    messages.success(request, _("The picture, its faces and any search matches on them were deleted."))
    if subject is not None:
        return redirect("subject_detail", tenant_slug=request.tenant.slug, subject_id=subject.public_id)
    return redirect("subjects", tenant_slug=request.tenant.slug)
