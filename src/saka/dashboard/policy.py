"""The staff dashboard's policy lab: the parameters in force, a what-if asked from the page,
a change put in force from it (a policy maker's). JSON endpoints the page's script posts to
(session and CSRF); the services check the roles and the parameters (typed errors, rendered
as the API renders them: ``{"code", "message", "data"}`` with the error's status)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from saka.audit.roles import MANAGE_POLICY, actor_allowed
from saka.core.clock import parse_instant
from saka.core.errors import DomainError, ValidationError
from saka.dashboard.access import staff_view
from saka.grains.policy import PARAMETERS, policy_change, policy_overview, policy_version_data
from saka.grains.whatif import policy_whatif

MAX_BODY = 4096


def policy_panel(user: Any) -> dict[str, Any]:
    """The panel's data: the parameters in force, their bounds, the versions; whether the
    user may put a what-if in force."""
    overview = policy_overview(limit=10)
    return {
        "in_force": {
            **overview["in_force"],
            "effective_at": _iso(overview["in_force"]["effective_at"]),
            "created_at": _iso(overview["in_force"]["created_at"]),
        },
        "bounds": overview["bounds"],
        "versions": [
            {**v, "effective_at": _iso(v["effective_at"]), "created_at": _iso(v["created_at"])}
            for v in overview["versions"]
        ],
        "parameters": list(PARAMETERS),
        "can_change": actor_allowed(user, MANAGE_POLICY),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise ValidationError("The request body is too large.")
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("The request body must be JSON.") from exc
    if not isinstance(data, dict):
        raise ValidationError("The request body must be a JSON object.")
    return data


def _error(exc: DomainError) -> JsonResponse:
    return JsonResponse(exc.as_dict(), status=exc.http_status)


@require_POST
@staff_view
def whatif(request: HttpRequest) -> JsonResponse:
    """A what-if of the posted parameters (the others as in force): 201 and its record."""
    try:
        data = _body(request)
        changes = {k: v for k, v in data.items() if v not in (None, "")}
        record = policy_whatif(changes=changes, actor_id=request.user.pk)
    except DomainError as exc:
        return _error(exc)
    return JsonResponse(
        {
            "whatif_id": record.pk,
            "parameters": record.parameters,
            "baseline": record.baseline,
            "result": record.result,
            "duration_ms": record.duration_ms,
        },
        status=201,
    )


@require_POST
@staff_view
def change(request: HttpRequest) -> JsonResponse:
    """Put a what-if in force: ``{"whatif_id", "reason", "effective_at"?}`` (a policy maker)."""
    try:
        data = _body(request)
        whatif_id = data.get("whatif_id")
        if isinstance(whatif_id, bool) or not isinstance(whatif_id, int):
            raise ValidationError("whatif_id must be an integer.", field="whatif_id")
        effective = data.get("effective_at") or None
        version = policy_change(
            whatif_id=whatif_id,
            reason=str(data.get("reason", "")),
            actor_id=request.user.pk,
            effective_at=parse_instant(effective, field="effective_at") if effective else None,
        )
    except DomainError as exc:
        return _error(exc)
    out = policy_version_data(version)
    out["effective_at"] = _iso(out["effective_at"])
    out["created_at"] = _iso(out["created_at"])
    return JsonResponse(out, status=201)
