"""Cursor pagination of the list endpoints: newest first.

A client only ever sends back the ``next``/``previous`` links it was given; anything else is
refused with a 400 before it reaches the database: a cursor that does not decode, or decodes
to a position that is not an id, is ``invalid_cursor``; a ``page_size`` outside 1..200 is a
``validation_error`` (never silently replaced by the default).
"""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from saka.api.common.errors import InvalidCursor
from saka.core.errors import ValidationError

_ID_MAX = 2**63 - 1
_PARAM_MAX = 32  # characters of a page_size worth reading


def _is_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= 19 and int(value) <= _ID_MAX


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except Exception as exc:  # DRF's NotFound, or a decoding error it does not wrap
            raise InvalidCursor() from exc
        if cursor is not None and cursor.position is not None and not _is_id(str(cursor.position)):
            raise InvalidCursor()
        return cursor

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param or "page_size", "")
        if raw == "":
            return self.page_size
        value = raw[:_PARAM_MAX]
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= self.max_page_size):
            raise ValidationError(
                f"page_size must be an integer in 1..{self.max_page_size}.",
                fields={"page_size": [f"An integer in 1..{self.max_page_size}."]},
            )
        return int(value)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters
