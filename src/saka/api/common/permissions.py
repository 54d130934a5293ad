"""Who may call an endpoint: members, the platform's service account, staff."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

HARVEST_PERMISSION = "grains.harvest_on_behalf"


class IsMember(BasePermission):
    """Any authenticated, active account acting for itself."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_active)


class IsPlatform(BasePermission):
    """A trusted service account allowed to grant harvests on behalf of members."""

    message = "This endpoint is for the platform's service account."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(HARVEST_PERMISSION))


class IsStaff(BasePermission):
    message = "This endpoint is for staff."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)
