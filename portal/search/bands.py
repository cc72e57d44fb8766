"""How strong a lead a match is, from its similarity (1 - cosine distance)."""

from django.conf import settings

from portal.search.models import Band


def band_for(*, similarity: float, threshold: float) -> Band:
    if similarity < threshold:
        return Band.BELOW
    if similarity >= max(threshold, settings.SEARCH_STRONG_THRESHOLD):
        return Band.STRONG
    return Band.POSSIBLE
