"""Who may call an endpoint: members, the platform's service account, staff."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from saka.audit.errors import RoleRequired
from saka.audit.roles import ENDPOINT_ACTION, actor_allowed, perm_name
from saka.audit.services import audit_refusal

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
    """An active staff user holding the permission the view names for the request's method
    (``staff_permissions = {"GET": VIEW, "POST": OPERATE_RUNS}``, read from the role table
    ``saka.audit.roles``). A view or method without one is refused (fail closed). A refusal
    raises ``RoleRequired`` (403 ``permission_denied``, ``data.permission`` names it) and is
    recorded in the audit trail."""

    message = "This endpoint is for staff."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False  # 401 for anonymous callers, as everywhere
        if not hasattr(view, (request.method or "").lower()) and user.is_staff and user.is_active:
            return True  # a method the view does not serve: 405, as everywhere
        codename = staff_permission_of(view, request.method or "")
        if codename is not None and actor_allowed(user, codename):
            return True
        error = RoleRequired(
            permission=perm_name(codename) if codename else None, action=_action(view)
        )
        audit_refusal(
            actor_id=user.pk,
            action=ENDPOINT_ACTION,
            error_code=str(error.code),
            target_type="endpoint",
            target_id=request.path[:64],
            payload={"method": request.method, "view": _action(view), **error.data},
        )
        raise error


def staff_permission_of(view: Any, method: str) -> str | None:
    """The staff permission a view needs for ``method`` (HEAD and OPTIONS as GET)."""
    table: dict[str, str] = getattr(view, "staff_permissions", {})
    return table.get("GET" if method in ("HEAD", "OPTIONS") else method)


def _action(view: Any) -> str:
    return type(view).__name__
