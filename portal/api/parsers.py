"""JSON bodies with a depth limit. Python's decoder recurses per level, so a body nested a
thousand levels deep would end in RecursionError (a 500) in the parser or, below that, in
whatever walks the data next (fingerprinting, serializers). No request of this API needs more
than a few levels, so anything deeper than API_MAX_JSON_DEPTH is a clear 400 that changes nothing."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from django.utils.translation import gettext as _


def json_depth_exceeds(data, limit: int) -> bool:
    """Whether parsed JSON nests deeper than `limit` (a scalar is depth 0), walked without recursion."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_JSON_DEPTH
        message = _("The JSON body is nested more than %(limit)s levels deep.") % {"limit": limit}
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(message) from None
        if json_depth_exceeds(data, limit):
            raise ParseError(message)
        return data
