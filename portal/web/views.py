"""The customer portal's pages. Everything under /t/<tenant_slug>/ has passed TenantMiddleware
(member of this active tenant, request scoped to it); role checks sit on each view. Views parse
input, call one service or selector, and render: the rules live in the services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST, require_http_methods

from portal.api.models import ApiKey
from portal.api.selectors import api_key_get, api_keys_list
from portal.api.services import ApiKeyInvalid, api_key_create, api_key_revoke
from portal.compliance.audit import Actor
from portal.faces.engine import EngineConfig
from portal.faces.errors import FaceEngineError, ImageTooLarge
from portal.gallery import selectors as gallery_selectors
from portal.gallery import services as gallery_services
from portal.gallery.gates import IngestRefused
from portal.gallery.models import Face, Image, Subject
from portal.gallery.regions import InvalidRegion
from portal.search import selectors as search_selectors
from portal.search.models import Band, Search
from portal.search.services import SearchInvalid, search_detect_faces, search_run
from portal.web import forms
from portal.web import selectors as web_selectors
from portal.web import services as web_services
from portal.web.crops import ProbeGone, probe_available, probe_crop_jpeg, stored_file_read
from tenants.middleware import membership_required
from tenants.models import Membership
from tenants.selectors import tenant_members, user_memberships

PAGE_SIZE = 25
# Thumbnails and pictures are personal data: the browser may keep them for the session, no proxy may.
PRIVATE_CACHE = "private, max-age=300"


@login_required
def home(request):
    """Sends a user to their tenant; a user of several tenants chooses; operators go to the platform area."""
    memberships = list(user_memberships(user=request.user))
    if len(memberships) == 1 and not request.user.is_staff:
        return redirect("tenant_dashboard", tenant_slug=memberships[0].tenant.slug)
    return render(request, "portal/choose_tenant.html", {"memberships": memberships})


def _actor(request) -> Actor:
    return Actor.of_user(request.user, ip_address=request.META.get("REMOTE_ADDR"))


def _upload_read(upload) -> bytes:
    # Refuse an oversized upload before reading it into memory; the engine checks the rest.
    max_bytes = EngineConfig.from_settings().max_bytes
    if upload.size > max_bytes:
        raise ImageTooLarge(f"The picture is {upload.size / 1048576:.1f} MB; the limit is {max_bytes / 1048576:.0f} MB.")
    return upload.read()


def _page(request, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _filters_query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def tenant_dashboard(request, tenant_slug):
    tenant, membership = request.tenant, request.membership
    context = {"members": tenant_members(tenant=tenant),
               "recent_searches": search_selectors.searches_list(tenant=tenant)[:5]}
    if membership.can_search:
        context["subject_count"] = gallery_selectors.subjects_list(tenant=tenant).count()
    return render(request, "portal/dashboard.html", context)


# --- Search -------------------------------------------------------------------------------------

@membership_required(allowed="can_search")
@require_http_methods(["GET", "POST"])
def search_new(request, tenant_slug):
    tenant = request.tenant
    form = forms.SearchForm(request.POST or None, request.FILES or None, tenant=tenant)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            search = search_run(
                tenant=tenant, actor=_actor(request), probe=_upload_read(form.cleaned_data["picture"]),
                case_reference=form.cleaned_data["case_reference"], purpose=form.cleaned_data["purpose"],
                face_index=form.cleaned_data["face_index"],
            )
        except SearchInvalid as error:
            field = error.field if error.field in form.fields and error.field != "face_index" else None
            form.add_error(field, error.message)
            status = 400
        except FaceEngineError as error:
            form.add_error("picture", error.message)
            status = error.http_status if error.http_status < 500 else 500
        else:
            return redirect("search_detail", tenant_slug=tenant.slug, search_id=search.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "portal/search_new.html", {"form": form}, status=status)


@membership_required(allowed="can_search")
@require_POST
def search_detect(request, tenant_slug):
    """The faces in a picture as boxes, for the preview where a person picks the face to search."""
    upload = request.FILES.get("picture")
    if upload is None:
        return JsonResponse({"error": "Choose a picture first.", "code": "missing"}, status=400)
    try:
        detection = search_detect_faces(data=_upload_read(upload))
        detection.largest()  # no face at all is an error the person must see now, not at search time
    except FaceEngineError as error:
        return JsonResponse({"error": error.message, "code": error.code}, status=error.http_status)
    return JsonResponse({
        "width": detection.image.width,
        "height": detection.image.height,
        "faces": [
            {"index": index, "x": face.box[0], "y": face.box[1], "w": face.box[2], "h": face.box[3],
             "confidence": round(face.confidence, 3)}
            for index, face in enumerate(detection.faces)
        ],
    })


@require_GET
def search_history(request, tenant_slug):
    # Every role reads the history: investigators their team's work, auditors to review it.
    tenant = request.tenant
    members = tenant_members(tenant=tenant)
    form = forms.SearchFilterForm(request.GET or None, members=members)
    filters = form.cleaned_data if form.is_valid() else {}
    searches = search_selectors.searches_list(
        tenant=tenant,
        case_reference=filters.get("case_reference") or None,
        created_from=web_selectors.day_start(filters["created_from"]) if filters.get("created_from") else None,
        created_to=web_selectors.day_end(filters["created_to"]) if filters.get("created_to") else None,
        actor_user_id=filters.get("user"),
    )
    return render(request, "portal/search_history.html", {
        "form": form, "page": _page(request, searches), "filters_query": _filters_query(request),
        "filtered": bool(filters and any(filters.values())),
    })


@require_GET
def search_detail(request, tenant_slug, search_id):
    try:
        search = search_selectors.search_get(tenant=request.tenant, search_id=search_id)
    except Search.DoesNotExist:
        raise Http404 from None
    matches = list(search_selectors.search_matches(search=search))
    return render(request, "portal/search_detail.html", {
        "search": search,
        "probe_available": probe_available(search=search),
        "leads": [m for m in matches if m.band != Band.BELOW],
        "below": [m for m in matches if m.band == Band.BELOW],
    })


@require_GET
def search_probe_crop(request, tenant_slug, search_id):
    try:
        search = search_selectors.search_get(tenant=request.tenant, search_id=search_id)
        data = probe_crop_jpeg(search=search)
    except (Search.DoesNotExist, ProbeGone):
        raise Http404 from None
    return _jpeg(data)


@require_GET
def face_crop(request, tenant_slug, face_uuid):
    try:
        face = web_selectors.face_for_crop(tenant=request.tenant, face_uuid=face_uuid)
        data = stored_file_read(name=face.crop.name)
    except (Face.DoesNotExist, FileNotFoundError):
        raise Http404 from None
    return _jpeg(data)


def _jpeg(data: bytes, content_type: str = "image/jpeg") -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = PRIVATE_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Galleries ----------------------------------------------------------------------------------

@membership_required(allowed="can_search")
@require_http_methods(["GET", "POST"])
def subjects(request, tenant_slug):
    tenant = request.tenant
    form = forms.SubjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        subject = gallery_services.subject_create(tenant=tenant, actor=_actor(request), **form.cleaned_data)
        messages.success(request, f"Subject “{subject.label}” created. Now enrol their pictures.")
        return redirect("subject_detail", tenant_slug=tenant.slug, subject_id=subject.pk)
    return render(request, "portal/subjects.html", {
        "form": form, "page": _page(request, gallery_selectors.subjects_list(tenant=tenant)),
    }, status=400 if form.errors else 200)


def _subject_or_404(request, subject_id) -> Subject:
    try:
        return gallery_selectors.subject_get(tenant=request.tenant, subject_id=subject_id)
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
            errors = "; ".join(f"{field}: {' '.join(errs)}" if field != "__all__" else " ".join(errs)
                               for field, errs in form.errors.items())
            return JsonResponse({"ok": False, "error": errors}, status=400)
        return render(request, "portal/subject_detail.html", {
            "subject": subject, "pictures": _subject_pictures(request, subject), "enrol_form": form,
        }, status=400)

    provenance = {key: form.cleaned_data[key] for key in ("legal_basis", "source_url", "collected_at")}
    provenance["region"] = form.cleaned_data["region"] or None
    outcomes = [_enrol_one(request, subject, upload, provenance) for upload in form.cleaned_data["pictures"]]
    if wants_json:
        outcome = outcomes[0]
        return JsonResponse(outcome, status=200 if outcome["ok"] else outcome.pop("status"))
    for outcome in outcomes:
        level = messages.SUCCESS if outcome["ok"] else messages.ERROR
        messages.add_message(request, level, f"{outcome['name']}: {outcome['message']}")
    return redirect("subject_detail", tenant_slug=request.tenant.slug, subject_id=subject.pk)


def _enrol_one(request, subject, upload, provenance) -> dict:
    try:
        result = gallery_services.subject_enrol(
            tenant=request.tenant, subject=subject, data=_upload_read(upload), actor=_actor(request), **provenance)
    except (FaceEngineError, IngestRefused, gallery_services.IngestInvalid) as error:
        message = error.message
        if isinstance(error, IngestRefused) and error.reference:
            message = f"{message} (order {error.reference})"
        return {"ok": False, "name": upload.name, "message": message, "error": message,
                "status": getattr(error, "http_status", 400)}
    except InvalidRegion as error:
        return {"ok": False, "name": upload.name, "message": str(error), "error": str(error), "status": 400}
    faces = len(result.faces)
    if not result.created:
        message = "already in the gallery; nothing added."
    else:
        message = f"enrolled, {faces} face{'s' if faces != 1 else ''} found."
    return {"ok": True, "name": upload.name, "created": result.created, "faces": faces,
            "image_id": result.image.pk, "message": message}


@membership_required(allowed="can_search")
@require_POST
def subject_delete(request, tenant_slug, subject_id):
    subject = _subject_or_404(request, subject_id)
    gallery_services.subject_delete(tenant=request.tenant, subject=subject, actor=_actor(request))
    messages.success(request, f"Subject “{subject.label}” and their pictures were deleted.")
    return redirect("subjects", tenant_slug=request.tenant.slug)


def _image_or_404(request, image_id) -> Image:
    try:
        return gallery_selectors.image_get(tenant=request.tenant, image_id=image_id)
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
    return _jpeg(data, content_type={"PNG": "image/png", "WEBP": "image/webp"}.get(image.format, "image/jpeg"))


@membership_required(allowed="can_search")
@require_POST
def image_delete(request, tenant_slug, image_id):
    image = _image_or_404(request, image_id)
    subject_id = image.subject_id
    gallery_services.image_delete(tenant=request.tenant, image=image, actor=_actor(request))
    messages.success(request, "The picture, its faces and any search matches on them were deleted.")
    if subject_id:
        return redirect("subject_detail", tenant_slug=request.tenant.slug, subject_id=subject_id)
    return redirect("subjects", tenant_slug=request.tenant.slug)


# --- Administration -----------------------------------------------------------------------------

@membership_required(allowed="can_manage")
@require_http_methods(["GET", "POST"])
def members(request, tenant_slug):
    tenant = request.tenant
    form = forms.MemberInviteForm(request.POST or None)
    new_password = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            membership, new_password = web_services.member_invite(
                tenant=tenant, by=request.membership, email=form.cleaned_data["email"],
                role=form.cleaned_data["role"], actor=_actor(request))
        except web_services.MembershipChangeRefused as error:
            form.add_error(None, error.message)
            status = 400
        else:
            if new_password is None:
                messages.success(request, f"{membership.user.email} already had an account and is now a member.")
                return redirect("members", tenant_slug=tenant.slug)
            # The one-time password is shown on this response only, never stored in the session.
            messages.success(request, f"{membership.user.email} was invited as {membership.get_role_display().lower()}.")
            form = forms.MemberInviteForm()
            return render(request, "portal/members.html", {
                "form": form, "memberships": tenant_members(tenant=tenant), "roles": Membership.Role.choices,
                "new_member": membership, "new_password": new_password,
            })
    elif request.method == "POST":
        status = 400
    return render(request, "portal/members.html", {
        "form": form, "memberships": tenant_members(tenant=tenant), "roles": Membership.Role.choices,
    }, status=status)


def _membership_or_404(request, membership_id) -> Membership:
    try:
        return web_selectors.membership_get(tenant=request.tenant, membership_id=membership_id)
    except Membership.DoesNotExist:
        raise Http404 from None


@membership_required(allowed="can_manage")
@require_POST
def member_role(request, tenant_slug, membership_id):
    membership = _membership_or_404(request, membership_id)
    form = forms.MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
    else:
        try:
            web_services.member_role_change(tenant=request.tenant, by=request.membership, membership=membership,
                                            role=form.cleaned_data["role"], actor=_actor(request))
        except web_services.MembershipChangeRefused as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{membership.user.email} is now {membership.get_role_display().lower()}.")
    if membership.user_id == request.user.id and not membership.can_manage:
        # They just gave up managing: the members page would answer 403.
        return redirect("tenant_dashboard", tenant_slug=request.tenant.slug)
    return redirect("members", tenant_slug=request.tenant.slug)


@membership_required(allowed="can_manage")
@require_POST
def member_remove(request, tenant_slug, membership_id):
    membership = _membership_or_404(request, membership_id)
    try:
        web_services.member_remove(tenant=request.tenant, by=request.membership, membership=membership,
                                   actor=_actor(request))
    except web_services.MembershipChangeRefused as error:
        messages.error(request, error.message)
        return redirect("members", tenant_slug=request.tenant.slug)
    messages.success(request, f"{membership.user.email} was removed from {request.tenant.name}.")
    if membership.user_id == request.user.id:
        return redirect("home")
    return redirect("members", tenant_slug=request.tenant.slug)


@membership_required(allowed="can_manage")
@require_http_methods(["GET", "POST"])
def tenant_settings(request, tenant_slug):
    tenant = request.tenant
    initial = {"case_reference_required": tenant.case_reference_required,
               "probe_retention_days": tenant.probe_retention_days}
    form = forms.TenantSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        web_services.tenant_settings_update(tenant=tenant, actor=_actor(request), **form.cleaned_data)
        messages.success(request, "Settings saved.")
        return redirect("tenant_settings", tenant_slug=tenant.slug)
    return render(request, "portal/settings.html", {"form": form}, status=400 if form.errors else 200)


@membership_required(allowed="can_manage")
@require_http_methods(["GET", "POST"])
def api_keys(request, tenant_slug):
    tenant = request.tenant
    form = forms.ApiKeyCreateForm(request.POST or None)
    context = {"form": form}
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            api_key, raw_key = api_key_create(tenant=tenant, name=form.cleaned_data["name"],
                                              scopes=form.cleaned_data["scopes"], actor=_actor(request))
        except ApiKeyInvalid as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
            status = 400
        else:
            # The raw key is in this response only; it is stored as a hash and never shown again.
            context = {"form": forms.ApiKeyCreateForm(), "new_key": api_key, "raw_key": raw_key}
    elif request.method == "POST":
        status = 400
    context["api_keys"] = api_keys_list(tenant=tenant)
    return render(request, "portal/api_keys.html", context, status=status)


@membership_required(allowed="can_manage")
@require_POST
def api_key_revoke_view(request, tenant_slug, api_key_id):
    try:
        api_key = api_key_get(tenant=request.tenant, api_key_id=api_key_id)
    except ApiKey.DoesNotExist:
        raise Http404 from None
    api_key_revoke(tenant=request.tenant, api_key=api_key, actor=_actor(request))
    messages.success(request, f"The key “{api_key.name}” ({api_key.prefix}…) is revoked: it no longer works.")
    return redirect("api_keys", tenant_slug=request.tenant.slug)


@membership_required(allowed="can_audit")
@require_GET
def audit_log(request, tenant_slug):
    tenant = request.tenant
    form = forms.AuditFilterForm(request.GET or None, actions=web_selectors.audit_actions(tenant=tenant))
    filters = form.cleaned_data if form.is_valid() else {}
    events = web_selectors.audit_events_list(
        tenant=tenant, action=filters.get("action") or None, actor=filters.get("actor") or None,
        created_from=filters.get("created_from"), created_to=filters.get("created_to"))
    return render(request, "portal/audit_log.html", {
        "form": form, "page": _page(request, events), "filters_query": _filters_query(request),
        "filtered": bool(filters and any(filters.values())),
    })

