"""Proof anyone can check: the signed certificate download, and the public well-known files with
the operator's signing keys and the signed audit heads (no log-in)."""

from __future__ import annotations

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.audit.heads import audit_heads_published
from portal.audit.models import SignedAuditHeads
from portal.audit.signing import signing_keys_published
from portal.compliance import selectors as compliance_selectors
from portal.compliance.certificates import order_certificate_signed
from portal.platform.views import _actor, _get_or_404, platform_view
from tenants.context import dangerously_unscoped


def signed_file_response(data: bytes, *, filename: str) -> HttpResponse:
    """The signed bytes unchanged: re-serialising them would break the signature."""
    response = HttpResponse(data, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@platform_view
def order_certificate_signed_download(request, order_id):
    order = _get_or_404(compliance_selectors.order_get, order_id=order_id)
    if not order.certificate:
        raise Http404
    data = order_certificate_signed(order=order, actor=_actor(request))
    return signed_file_response(data, filename=f"certificate-{order.reference}.signed.json")


@platform_view
def signatures(request):
    """The operator's keys and the latest signed audit heads, with the public files they come from."""
    keys = signing_keys_published()["keys"]
    with dangerously_unscoped(reason="the platform's signed audit heads"):
        heads = list(SignedAuditHeads.objects.order_by("-signed_at")[:20])
    return render(request, "platform/signatures.html", {"keys": keys[::-1], "heads": heads})


def _public(data: dict) -> JsonResponse:
    response = JsonResponse(data, json_dumps_params={"indent": 1, "ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def well_known_signing_keys(request):
    return _public(signing_keys_published())


@require_GET
def well_known_audit_heads(request):
    return _public({
        "format": "portal-audit-heads/1",
        "keys": request.build_absolute_uri("/.well-known/portal-signing-keys.json"),
        "note": "Each entry is a signed file: keep one as its canonical JSON (sorted keys, no whitespace, "
                "e.g. jq -cjS '.signed_heads[0]') and check it later with manage.py audit_heads_check.",
        "signed_heads": audit_heads_published(),
    })
