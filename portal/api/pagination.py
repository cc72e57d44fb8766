"""Cursor pagination in a stable order (newest first), with strict parameters: a cursor the API
did not give out, or a page size out of range, is a 400, never a silent default.

Lists are ordered by creation time, not by id: a cursor is only base64, and one that carried a
platform-wide sequential id would tell a tenant how much the others do (ties at the same
microsecond are told apart by DRF's offset). The audit log is ordered by the tenant's own chain
position, which tells nothing about anyone else."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from django.utils.translation import gettext as _

_DB_ID_MAX = 2**63 - 1


class StableCursorPagination(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-created_at"

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [_("A whole number from 1 to %(max_page_size)s.") % {"max_page_size": self.max_page_size}]})
        return size

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except (NotFound, UnicodeError):
            cursor = False
        if cursor is False or (cursor is not None and cursor.position is not None
                               and not self._position_valid(cursor.position)):
            raise ValidationError({self.cursor_query_param: [_("Not a cursor this API gave out; use the next or "
                                                             "previous link of a list.")]})
        return cursor

    @staticmethod
    def _position_valid(position: str) -> bool:
        try:
            return parse_datetime(position) is not None
        except ValueError:
            return False

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size, "default": self.page_size})
        return parameters


def _is_db_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and int(value) <= _DB_ID_MAX


class AuditCursorPagination(StableCursorPagination):
    ordering = "-position"

    @staticmethod
    def _position_valid(position: str) -> bool:
        return _is_db_id(position)
