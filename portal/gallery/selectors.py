"""Reading the galleries. Every function takes the tenant; another tenant's id is DoesNotExist."""

from datetime import datetime

from django.db.models import Count, OuterRef, Subquery

from portal.gallery.models import Face, Image, Subject
from tenants.models import Tenant


def image_get(*, tenant: Tenant, public_id) -> Image:
    return Image.objects.filter(tenant=tenant).select_related("subject").get(public_id=public_id)


def images_list(*, tenant: Tenant, subject_id: int | None = None, created_from: datetime | None = None,
                created_to: datetime | None = None):
    images = Image.objects.filter(tenant=tenant).select_related("subject").order_by("-created_at", "-id")
    if subject_id is not None:
        images = images.filter(subject_id=subject_id)
    if created_from is not None:
        images = images.filter(created_at__gte=created_from)
    if created_to is not None:
        images = images.filter(created_at__lt=created_to)
    return images


def subject_get(*, tenant: Tenant, public_id) -> Subject:
    return Subject.objects.filter(tenant=tenant).get(public_id=public_id)


def subjects_list(*, tenant: Tenant):
    """With each subject's picture count and the public id of its latest picture that has a
    thumbnail to show (cover_id, None when there is none)."""
    cover = (Image.objects.filter(tenant=tenant, subject=OuterRef("pk"), withheld=False).exclude(thumbnail="")
             .order_by("-created_at", "-id").values("public_id")[:1])
    return (Subject.objects.filter(tenant=tenant)
            .annotate(picture_count=Count("images"), cover_id=Subquery(cover)).order_by("label", "id"))


def gallery_is_empty(*, tenant: Tenant) -> bool:
    """No face in the tenant's own gallery yet: a new tenant's first hour."""
    return not Face.objects.filter(tenant=tenant).exists()
