"""What every view module shares: the documented error responses, the idempotency header,
the caller's id and idempotency key, a write's response (``Idempotent-Replayed: true`` on a
replay), the member/staff base views."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saka.api.common.errors import ErrorSerializer
from saka.api.common.permissions import IsMember, IsStaff
from saka.api.common.throttling import MemberThrottle, PlatformThrottle
from saka.ledger.idempotency import ReplayWatch

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe key (1-200 printable ASCII). Same key + same request (compared "
    'after validation: 100 and "100" are the same) replays the original status and body '
    "with the header Idempotent-Replayed: true; same key + another request is 409 "
    "idempotency_conflict.",
    type=str,
)
# The error statuses an authenticated endpoint can answer, all in the {code, message, data} shape.
ERRORS = dict.fromkeys((400, 401, 403, 404, 409, 429, 503), ErrorSerializer)


def member_id_of(request: Request) -> int:
    """The authenticated caller's id (the permission classes guarantee there is one)."""
    pk = request.user.pk
    if pk is None:
        raise NotAuthenticated()
    return int(pk)


def idempotency_key_of(request: Request) -> str | None:
    return request.headers.get("Idempotency-Key")


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyCheckedView(APIView):
    """A write's body is parsed before the handler runs, even by a handler that reads none
    (resume, cancel, refund): a body of a type the API does not take is 415 everywhere, never
    ignored while the work goes ahead."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        if request.method in WRITE_METHODS:
            request.data  # noqa: B018 - parsing is the point (415 unsupported_media_type)


REPLAYED_HEADER = "Idempotent-Replayed"


def written(
    data: Any, watch: ReplayWatch, *, status_code: int = status.HTTP_201_CREATED
) -> Response:
    """The response of an idempotent write: its status and body, replayed or not, and
    ``Idempotent-Replayed: true`` when the service answered the stored result."""
    headers = {REPLAYED_HEADER: "true"} if watch.replayed else None
    return Response(data, status=status_code, headers=headers)


class MemberView(BodyCheckedView):
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]


class StaffView(BodyCheckedView):
    """A staff endpoint: each subclass names the permission of each method
    (``staff_permissions``, codenames of ``saka.audit.roles``); none named, none allowed."""

    permission_classes = [IsStaff]
    staff_permissions: dict[str, str] = {}
    throttle_classes = [PlatformThrottle]
