"""Alerts as rows (``saka.alerts``): one row per fingerprint, bumped when seen again, resolved
and reopened; e-mailed once when it opens, after commit; listed in the staff API and the
admin; ``SAKA_ALERT_EMAILS`` validated."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from saka.alerts.conf import get_settings
from saka.alerts.models import Alert, AlertKind, AlertSeverity
from saka.alerts.services import alert_raise, alert_resolve, alerts_resolve_others
from tests.support.clock import A
from tests.support.threads import Worker, settle

pytestmark = pytest.mark.django_db

OPS = ["ops@example.org", "oncall@example.org"]


def _raise(fingerprint: str = "broker_unreachable", at: Any = A, **kwargs: Any) -> Any:
    fields: dict[str, Any] = {
        "kind": AlertKind.BROKER_UNREACHABLE,
        "severity": AlertSeverity.CRITICAL,
        "title": "The broker is unreachable",
        "details": {"error": "OperationalError"},
    }
    return alert_raise(fingerprint=fingerprint, at=at, **{**fields, **kwargs})


def test_a_condition_seen_again_bumps_its_one_row(settings: Any) -> None:
    # given an alert raised once
    settings.SAKA_ALERT_EMAILS = []
    first, opened = _raise()
    assert opened is True
    # when the condition is seen twice more, later, with other details
    _raise(at=A + timedelta(minutes=5))
    again, opened = _raise(at=A + timedelta(minutes=10), details={"error": "TimeoutError"})
    # then one row: first seen kept, last seen and count bumped, details the latest
    assert opened is False
    assert Alert.objects.count() == 1
    assert again.pk == first.pk
    assert (again.first_seen_at, again.last_seen_at) == (A, A + timedelta(minutes=10))
    assert (again.seen_count, again.details, again.resolved_at) == (
        3,
        {"error": "TimeoutError"},
        None,
    )


def test_a_resolved_alert_opens_again_on_the_same_row(settings: Any) -> None:
    settings.SAKA_ALERT_EMAILS = []
    alert, _ = _raise()
    # when the condition is gone
    assert alert_resolve(fingerprint=alert.fingerprint, at=A + timedelta(minutes=5)) is True
    assert alert_resolve(fingerprint=alert.fingerprint, at=A + timedelta(minutes=6)) is False
    alert.refresh_from_db()
    assert alert.resolved_at == A + timedelta(minutes=5)
    # and comes back
    again, opened = _raise(at=A + timedelta(hours=1))
    # then the same row is open again
    assert (opened, again.pk, again.resolved_at, again.seen_count) == (True, alert.pk, None, 2)


def test_resolving_the_others_of_a_kind_keeps_those_still_seen(settings: Any) -> None:
    settings.SAKA_ALERT_EMAILS = []
    for run_id in (1, 2):
        _raise(f"run_stalled:compost:{run_id}", kind=AlertKind.RUN_STALLED, title="stalled")
    _raise()  # another kind
    # when only run 2 is still stalled
    resolved = alerts_resolve_others(
        kind=AlertKind.RUN_STALLED, keep={"run_stalled:compost:2"}, at=A
    )
    # then run 1's alert is resolved, run 2's and the other kind's are open
    assert resolved == 1
    open_ = set(Alert.objects.filter(resolved_at=None).values_list("fingerprint", flat=True))
    assert open_ == {"run_stalled:compost:2", "broker_unreachable"}


def test_an_alert_is_mailed_once_when_it_opens_after_commit(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given addresses to alert
    settings.SAKA_ALERT_EMAILS = OPS
    # when the alert is raised: nothing is sent before the commit
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alert, _ = _raise()
    assert len(callbacks) == 1
    assert mail.outbox == []
    callbacks[0]()
    # then one e-mail to every address, and the alert records it
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == OPS
    assert message.subject == "[SAKA critical] The broker is unreachable"
    assert "fingerprint: broker_unreachable" in message.body
    alert.refresh_from_db()
    assert alert.notified_at is not None
    # when it is seen again while open: no e-mail
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _raise(at=A + timedelta(minutes=5))
    assert (callbacks, len(mail.outbox)) == ([], 1)
    # when it is resolved and comes back: one more
    alert_resolve(fingerprint="broker_unreachable", at=A + timedelta(minutes=6))
    with django_capture_on_commit_callbacks(execute=True):
        _raise(at=A + timedelta(minutes=7))
    assert len(mail.outbox) == 2


def test_no_address_no_email(settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.SAKA_ALERT_EMAILS = []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        alert, opened = _raise()
    assert (opened, callbacks, mail.outbox) == (True, [], [])
    alert.refresh_from_db()
    assert alert.notified_at is None


def test_a_failing_mail_server_keeps_the_alert(
    settings: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SAKA_ALERT_EMAILS = OPS

    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("smtp.internal")

    monkeypatch.setattr("saka.alerts.services.send_mail", down)
    with django_capture_on_commit_callbacks(execute=True):
        alert, _ = _raise()
    alert.refresh_from_db()
    assert (alert.resolved_at, alert.notified_at) == (None, None)


@pytest.mark.parametrize(
    "value", ["ops@example.org", ["not an address"], [1], ("ok@example.org", "@nope")]
)
def test_alert_emails_must_be_a_list_of_addresses(settings: Any, value: Any) -> None:
    settings.SAKA_ALERT_EMAILS = value
    with pytest.raises(ImproperlyConfigured, match="SAKA_ALERT_EMAILS"):
        get_settings()


def test_alert_emails_default_to_none(settings: Any) -> None:
    del settings.SAKA_ALERT_EMAILS
    assert get_settings().emails == ()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_raises_of_one_fingerprint_make_one_row(settings: Any) -> None:
    # given four checkers that see the same condition at once (no row yet)
    settings.SAKA_ALERT_EMAILS = []
    barrier = threading.Barrier(4)
    workers = [
        Worker(lambda i=i: _raise(at=A + timedelta(seconds=i)), barrier=barrier, name=str(i))
        for i in range(4)
    ]
    for w in workers:
        w.start()
    outcomes = [settle(w) for w in workers]
    # then one row, seen four times, opened by exactly one of them
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    assert sorted(opened for _, opened in outcomes) == [False, False, False, True]
    alert = Alert.objects.get()
    assert alert.seen_count == 4


# --- the staff API and the admin ----------------------------------------------------------------


def test_staff_list_alerts_filtered_by_state(settings: Any, api: Any, make_user: Any) -> None:
    # given an open alert and a resolved one
    settings.SAKA_ALERT_EMAILS = []
    open_alert, _ = _raise()
    resolved, _ = _raise("compost_missing", kind=AlertKind.COMPOST_MISSING, title="late")
    alert_resolve(fingerprint="compost_missing", at=A)
    auditor = make_user(staff=True, roles=["auditor"])
    # when an auditor lists them
    body = api(auditor).get("/api/v1/staff/alerts/").json()
    # then both, newest first; the state filter picks one
    assert [a["id"] for a in body["results"]] == [resolved.pk, open_alert.pk]
    assert body["results"][1] | {"first_seen_at": None, "last_seen_at": None} == {
        "id": open_alert.pk,
        "fingerprint": "broker_unreachable",
        "kind": "broker_unreachable",
        "severity": "critical",
        "title": "The broker is unreachable",
        "details": {"error": "OperationalError"},
        "open": True,
        "first_seen_at": None,
        "last_seen_at": None,
        "seen_count": 1,
        "resolved_at": None,
        "notified_at": None,
    }
    opened = api(auditor).get("/api/v1/staff/alerts/?state=open").json()["results"]
    assert [a["id"] for a in opened] == [open_alert.pk]
    gone = api(auditor).get("/api/v1/staff/alerts/?state=resolved&kind=compost_missing").json()
    assert [a["id"] for a in gone["results"]] == [resolved.pk]


def test_staff_alerts_need_view_staff_data(api: Any, make_user: Any, member: Any) -> None:
    adjuster = make_user(staff=True, roles=["saka_adjuster"])
    assert api(None).get("/api/v1/staff/alerts/").status_code == 401
    assert api(member).get("/api/v1/staff/alerts/").status_code == 403
    assert api(adjuster).get("/api/v1/staff/alerts/").status_code == 403
    response = api(make_user(staff=True, roles=["auditor"])).get("/api/v1/staff/alerts/?state=x")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_the_admin_lists_alerts_read_only(settings: Any, client: Any, make_user: Any) -> None:
    settings.SAKA_ALERT_EMAILS = []
    alert, _ = _raise()
    auditor = make_user(staff=True, roles=["auditor"])
    client.force_login(auditor)
    listing = client.get("/admin/alerts/alert/?state=open&severity=critical")
    assert listing.status_code == 200
    assert "The broker is unreachable" in listing.content.decode()
    assert client.get("/admin/alerts/alert/add/").status_code == 403
    page = client.get(f"/admin/alerts/alert/{alert.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_metrics_count_the_open_alerts_by_kind(settings: Any, api: Any) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    settings.SAKA_ALERT_EMAILS = []
    settings.SAKA_METRICS_TOKEN = ""
    _raise()
    _raise("compost_missing", kind=AlertKind.COMPOST_MISSING, title="late")
    alert_resolve(fingerprint="compost_missing", at=A)
    text = api(None).get("/metrics").content.decode()
    samples = {
        s.labels["kind"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "saka_alerts_open"
    }
    assert samples == dict.fromkeys(AlertKind.values, 0.0) | {"broker_unreachable": 1.0}


def test_seeing_an_open_alert_again_costs_its_pinned_queries(
    settings: Any, django_assert_num_queries: Any
) -> None:
    # given an open alert
    settings.SAKA_ALERT_EMAILS = []
    _raise()
    # when it is seen again: the durable transaction (a savepoint inside the test's), the
    # row's lock, its update and its read back
    with django_assert_num_queries(5):
        _raise(at=A + timedelta(minutes=5))
