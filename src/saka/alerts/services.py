"""Raising and resolving alerts (the checks that call these: ``saka.jobs.alerts``).

``alert_raise`` is an upsert on the fingerprint in its own transaction: concurrent raises of
one condition make one row (the loser of the insert race finds the winner's row and bumps
it). An alert that is new, or open again after it was resolved, is e-mailed to
``SAKA_ALERT_EMAILS`` once the transaction commits; seeing an open one again sends nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from saka.alerts.conf import get_settings
from saka.alerts.lock_objects import alert_lock
from saka.alerts.models import Alert, AlertKind, AlertSeverity
from saka.core.db import durable
from saka.core.errors import ValidationError

logger = logging.getLogger("saka.alerts")


def _validate(*, kind: str, severity: str, fingerprint: str, title: str) -> None:
    if kind not in AlertKind.values:
        raise ValidationError(f"Unknown alert kind {kind!r}.", field="kind")
    if severity not in AlertSeverity.values:
        raise ValidationError(f"Unknown alert severity {severity!r}.", field="severity")
    if not fingerprint or len(fingerprint) > 200:
        raise ValidationError("A fingerprint is 1 to 200 characters.", field="fingerprint")
    if not title:
        raise ValidationError("An alert needs a title.", field="title")


def alert_raise(
    *,
    kind: str,
    fingerprint: str,
    severity: str,
    title: str,
    details: dict[str, Any],
    at: datetime,
) -> tuple[Alert, bool]:
    """Record that the condition ``fingerprint`` holds at ``at``: ``(alert, opened)``, where
    ``opened`` is true when the alert is new or was resolved (it is open again). Title,
    severity and details become the latest ones. An opened alert is e-mailed after commit."""
    _validate(kind=kind, severity=severity, fingerprint=fingerprint, title=title)
    title = title[:300]
    with durable():
        alert = alert_lock(fingerprint=fingerprint)
        if alert is None:
            try:
                with transaction.atomic():  # a savepoint: the insert race's loser goes on
                    alert = Alert.objects.create(
                        fingerprint=fingerprint,
                        kind=kind,
                        severity=severity,
                        title=title,
                        details=details,
                        first_seen_at=at,
                        last_seen_at=at,
                    )
            except IntegrityError:  # committed by the winner meanwhile: lock it
                alert = alert_lock(fingerprint=fingerprint)
                assert alert is not None  # noqa: S101 - the insert just met it
            else:
                _notify_on_commit(alert.pk)
                return alert, True
        opened = alert.resolved_at is not None
        Alert.objects.filter(pk=alert.pk).update(
            kind=kind,
            severity=severity,
            title=title,
            details=details,
            last_seen_at=at,
            seen_count=F("seen_count") + 1,
            resolved_at=None,
        )
        if opened:
            _notify_on_commit(alert.pk)
        alert.refresh_from_db()
    return alert, opened


def alert_resolve(*, fingerprint: str, at: datetime) -> bool:
    """The condition ``fingerprint`` is gone: its open alert (if any) is resolved at ``at``.
    True when one was."""
    with durable():
        return bool(
            Alert.objects.filter(fingerprint=fingerprint, resolved_at__isnull=True).update(
                resolved_at=at
            )
        )


def alerts_resolve_others(*, kind: str, keep: set[str], at: datetime) -> int:
    """Resolve every open alert of ``kind`` whose fingerprint is not in ``keep`` (the
    conditions of that kind still seen, e.g. the runs stalled now); how many were."""
    with durable():
        return (
            Alert.objects.filter(kind=kind, resolved_at__isnull=True)
            .exclude(fingerprint__in=keep)
            .update(resolved_at=at)
        )


def _notify_on_commit(alert_id: int) -> None:
    if get_settings().emails:
        transaction.on_commit(lambda: alert_notify(alert_id=alert_id))


def alert_notify(*, alert_id: int) -> bool:
    """E-mail an alert to ``SAKA_ALERT_EMAILS`` and stamp ``notified_at``; true when sent. A
    mail server that fails is logged, never raised (the alert row stays, ``notified_at``
    unset)."""
    recipients = list(get_settings().emails)
    alert = Alert.objects.filter(pk=alert_id).first()
    if not recipients or alert is None:
        return False
    subject = f"[SAKA {alert.severity}] {alert.title}"
    lines = [
        alert.title,
        "",
        f"kind: {alert.kind}",
        f"severity: {alert.severity}",
        f"fingerprint: {alert.fingerprint}",
        f"first seen: {alert.first_seen_at.isoformat()}",
        f"last seen: {alert.last_seen_at.isoformat()}",
        "",
        "details:",
        *(f"  {key}: {value}" for key, value in sorted(alert.details.items())),
    ]
    try:
        send_mail(subject, "\n".join(lines), None, recipients)
    except Exception:
        logger.exception("alert %s: the e-mail could not be sent", alert.fingerprint)
        return False
    Alert.objects.filter(pk=alert_id).update(notified_at=timezone.now())
    return True
