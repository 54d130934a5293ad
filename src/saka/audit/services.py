"""Checking a staff actor and writing the audit trail.

A staff service calls :func:`staff_require` first (outside its transaction): an actor without
the action's permission is refused with ``RoleRequired`` (403) and the refusal is recorded in
its own transaction. Inside its own transaction the service then calls :func:`audit_record`:
the record commits with the action or not at all (a failed action leaves no "succeeded" row).
``actor_id=None`` is the system (beat, cron commands): allowed, recorded with no actor.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from saka.audit.errors import RoleRequired, SelfActionForbidden
from saka.audit.models import AuditRecord, Outcome
from saka.audit.roles import ACTIONS, ENDPOINT_ACTION, actor_allowed, perm_name
from saka.core.clock import now
from saka.core.db import require_atomic


def _jsonable(payload: dict[str, Any] | None) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(payload or {}, default=str))
    return loaded


def _record(
    *,
    actor_id: int | None,
    action: str,
    outcome: str,
    target_type: str,
    target_id: Any,
    payload: dict[str, Any] | None,
    error_code: str = "",
) -> AuditRecord:
    if action not in ACTIONS and action != ENDPOINT_ACTION:
        raise KeyError(f"unknown staff action {action!r}")
    return AuditRecord.objects.create(
        actor_id=actor_id,
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id="" if target_id is None else str(target_id)[:64],
        payload=_jsonable(payload),
        error_code=error_code,
        created_at=now(),
    )


def audit_record(
    *,
    actor_id: int | None,
    action: str,
    target_type: str = "",
    target_id: Any = None,
    payload: dict[str, Any] | None = None,
) -> AuditRecord:
    """Record a staff action that succeeded, inside the action's transaction."""
    require_atomic()
    return _record(
        actor_id=actor_id,
        action=action,
        outcome=Outcome.SUCCEEDED,
        target_type=target_type,
        target_id=target_id,
        payload=payload,
    )


def audit_refusal(
    *,
    actor_id: int | None,
    action: str,
    error_code: str,
    target_type: str = "",
    target_id: Any = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record a refused staff action in its own transaction (the action has none)."""
    with transaction.atomic():
        _record(
            actor_id=actor_id,
            action=action,
            outcome=Outcome.REFUSED,
            target_type=target_type,
            target_id=target_id,
            payload=payload,
            error_code=error_code,
        )


def _known_actor(actor_id: int | None) -> int | None:
    if actor_id is None:
        return None
    return actor_id if get_user_model().objects.filter(pk=actor_id).exists() else None


def staff_require(
    *,
    actor_id: int | None,
    action: str,
    target_type: str = "",
    target_id: Any = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Refuse (``RoleRequired``, recorded) an actor without ``action``'s permission.
    ``None`` is the system and is allowed."""
    if actor_id is None:
        return
    codename = ACTIONS[action]
    user = get_user_model().objects.filter(pk=actor_id).first()
    if actor_allowed(user, codename):
        return
    error = RoleRequired(permission=perm_name(codename), action=action)
    audit_refusal(
        actor_id=_known_actor(actor_id),
        action=action,
        error_code=str(error.code),
        target_type=target_type,
        target_id=target_id,
        payload=payload,
    )
    raise error


def self_action_refuse(
    *,
    actor_id: int,
    action: str,
    target_type: str = "",
    target_id: Any = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record and raise ``SelfActionForbidden``: a staff user acting on their own wallet."""
    error = SelfActionForbidden(action=action, member_id=actor_id)
    audit_refusal(
        actor_id=actor_id,
        action=action,
        error_code=str(error.code),
        target_type=target_type,
        target_id=target_id,
        payload=payload,
    )
    raise error
