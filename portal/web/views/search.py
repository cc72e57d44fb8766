"""Search pages: a new search (with face detection for the picker), history, results, crops."""

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST, require_http_methods

from portal.errors import DomainError, domain_error_body, error_body, form_error_add
from portal.faces.errors import FaceEngineError
from portal.dates import day_end, day_start
from portal.gallery.models import Face
from portal.gallery import selectors as gallery_selectors
from portal.search import selectors as search_selectors
from portal.search.access import search_access_record
from portal.search.authorisations import authorisation_record
from portal.search.models import Search, SearchAccess
from portal.search.services import search_detect_faces, search_run
from portal.web import forms
from portal.web.crops import ProbeGone, probe_crop_jpeg, probe_faces, stored_file_read
from portal.web.views.common import actor_of, filters_query, page_of, picture_response, upload_read
from portal.web.views.review import may_record_authorisations, search_detail_render
from tenants.middleware import membership_required
from tenants.selectors import tenant_members


@membership_required(allowed="can_search")
@require_http_methods(["GET", "POST"])
def search_new(request, tenant_slug):
    tenant = request.tenant
    form = forms.SearchForm(request.POST or None, request.FILES or None, tenant=tenant)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            search = search_run(
                tenant=tenant, actor=actor_of(request), probe=upload_read(form.cleaned_data["picture"]),
                case_reference=form.cleaned_data["case_reference"], purpose=form.cleaned_data["purpose"],
                face_index=form.cleaned_data["face_index"], authorisation=form.authorisation_given(),
            )
        except FaceEngineError as error:
            form_error_add(form, error, field="picture")
            status = error.status
        except DomainError as error:
            # face_index is a hidden field: its error belongs at the top, where the person sees it.
            form_error_add(form, error, field=None if error.field == "face_index" else error.field)
            status = error.status
        else:
            return redirect("search_detail", tenant_slug=tenant.slug, search_id=search.public_id)
    elif request.method == "POST":
        status = 400
    return render(request, "portal/search_new.html", {
        "form": form, "gallery_empty": gallery_selectors.gallery_is_empty(tenant=tenant)}, status=status)


@membership_required(allowed="can_search")
@require_POST
def search_detect(request, tenant_slug):
    """The faces in a picture as boxes, for the preview where a person picks the face to search."""
    upload = request.FILES.get("picture")
    if upload is None:
        return JsonResponse(error_body(code="invalid", message=_("Choose a picture first."),
                                       fields={"picture": [_("Choose a picture first.")]}), status=400)
    try:
        detection = search_detect_faces(data=upload_read(upload))
        detection.largest()  # no face at all is an error the person must see now, not at search time
    except DomainError as error:
        return JsonResponse(domain_error_body(error), status=error.status)
    return JsonResponse({
        "width": detection.image.width,
        "height": detection.image.height,
        "faces": [
            {"index": index, "x": face.box[0], "y": face.box[1], "w": face.box[2], "h": face.box[3],
             "confidence": round(face.confidence, 3), "detector": face.detector}
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
        created_from=day_start(filters["created_from"]) if filters.get("created_from") else None,
        created_to=day_end(filters["created_to"]) if filters.get("created_to") else None,
        actor_user_id=filters.get("user"),
    )
    return render(request, "portal/search_history.html", {
        "form": form, "page": page_of(request, searches), "filters_query": filters_query(request),
        "filtered": bool(filters and any(filters.values())),
    })


@never_cache  # results name people: no shared or back-button cache keeps them
@require_GET
def search_detail(request, tenant_slug, search_id):
    try:
        search = search_selectors.search_get(tenant=request.tenant, public_id=search_id)
    except Search.DoesNotExist:
        raise Http404 from None
    return search_detail_render(request, search)


@never_cache
@membership_required(allowed="can_search")
@require_http_methods(["GET", "POST"])
def search_probe_faces(request, tenant_slug, search_id):
    """Every face of a search's stored probe, to search another of them (a group picture) without
    uploading the picture again. The new search is a search like any other: its own case
    reference, purpose and, for law enforcement, authorisation."""
    tenant = request.tenant
    try:
        search = search_selectors.search_get(tenant=tenant, public_id=search_id)
        faces = probe_faces(search=search)
    except (Search.DoesNotExist, ProbeGone):
        raise Http404 from None
    initial = {"case_reference": search.case_reference, "purpose": search.purpose,
               "face_index": next((f["index"] for f in faces if not f["searched"]), None)}
    form = forms.ProbeFaceSearchForm(request.POST or None, initial=initial, tenant=tenant, faces=faces)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            new_search = search_run(
                tenant=tenant, actor=actor_of(request), probe=stored_file_read(name=search.probe.name),
                case_reference=form.cleaned_data["case_reference"], purpose=form.cleaned_data["purpose"],
                face_index=form.cleaned_data["face_index"], authorisation=form.authorisation_given())
        except DomainError as error:
            form_error_add(form, error, field=error.field if error.field in form.fields else None)
            status = error.status
        else:
            return redirect("search_detail", tenant_slug=tenant.slug, search_id=new_search.public_id)
    elif request.method == "POST":
        status = 400
    return render(request, "portal/search_probe_faces.html", {
        "search": search, "faces": faces, "form": form}, status=status)


@require_GET
def search_probe_crop(request, tenant_slug, search_id):
    try:
        search = search_selectors.search_get(tenant=request.tenant, public_id=search_id)
        data = probe_crop_jpeg(search=search)
    except (Search.DoesNotExist, ProbeGone):
        raise Http404 from None
    return picture_response(data)


@require_GET
def face_crop(request, tenant_slug, face_uuid):
    try:
        face = search_selectors.face_crop_get(tenant=request.tenant, face_uuid=face_uuid)
        data = stored_file_read(name=face.crop.name)
        if "search" in request.GET:
            # A crop shown with a search's results: recorded as a view of that search (who looked).
            search = search_selectors.search_get(tenant=request.tenant, public_id=UUID(request.GET["search"]))
            search_access_record(tenant=request.tenant, search=search, what=SearchAccess.What.CROP,
                                 via=SearchAccess.Via.PAGE, actor=actor_of(request))
    except (Face.DoesNotExist, FileNotFoundError, Search.DoesNotExist, ValueError):
        raise Http404 from None
    return picture_response(data)


@require_POST
def search_authorisation_record(request, tenant_slug, search_id):
    """Records the decision on an urgent search (portal/search/authorisations.py)."""
    try:
        search = search_selectors.search_get(tenant=request.tenant, public_id=search_id)
    except Search.DoesNotExist:
        raise Http404 from None
    if not may_record_authorisations(request):
        raise PermissionDenied(_("Your role does not record authorisations."))
    form = forms.AuthorisationRecordForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            authorisation_record(tenant=request.tenant, search=search, granted=data["decision"] == "granted",
                                 authority=data["authority"], reference=data["reference"], on=data["date"],
                                 actor=actor_of(request))
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The authorisation was recorded.") if data["decision"] == "granted" else
                             _("The refusal was recorded; the search's results, probe and embedding were deleted."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("search_detail", tenant_slug=request.tenant.slug, search_id=search.public_id)
