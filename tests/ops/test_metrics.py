"""GET /metrics: Prometheus text with django-prometheus's metrics, the counters the code moves
(webhook outcomes, idempotent replays) and the figures read from the database (balances,
runs), protected by a bearer token or, without one, open to loopback clients only."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from saka.core.metrics import webhook_events
from saka.euro.errors import InvalidSignature
from saka.euro.services.pockets import pocket_create
from saka.grains.models import Run, RunKind, RunStatus, RunTrigger
from saka.grains.runs.compost import COMPOST, compost_run_start
from saka.grains.runs.lifecycle import open_live
from saka.grains.selectors import silo_summary
from saka.grains.services import wallet_harvest
from tests.support.clock import A
from tests.support.euro import SECRET, body_of, deliver, handle, payment_event
from tests.support.helloasso import HELLOASSO_SECRET, hdeliver, helloasso_event
from tests.support.helloasso import body_of as helloasso_body
from tests.support.helloasso import handle as helloasso_handle
from tests.support.run_scenarios import idle

pytestmark = pytest.mark.django_db

DOMAIN = (
    "saka_system_balance_grains",
    "saka_euro_platform_balance_cents",
    "saka_runs_unfinished",
    "saka_run_chunks",
    "saka_runs_stalled",
    "saka_alerts_open",
    "saka_domain_metrics_up",
)


@pytest.fixture(autouse=True)
def _webhook_secret(settings: Any) -> None:
    settings.SAKA_PAYMENT_WEBHOOK_SECRET = SECRET
    settings.SAKA_METRICS_TOKEN = ""


def scrape(api: Any, **headers: Any) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = api(None).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return samples


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_scrape_has_requests_and_domain_figures(api: Any, member: Any) -> None:
    # given some grains in the silo (a compost) and an interrupted compost of a later week
    idle(member, 2, A)
    compost_run_start(as_of=A)
    run, _ = open_live(
        COMPOST,
        kind=RunKind.COMPOST,
        at=A.replace(day=16),
        trigger=RunTrigger.PYTHON,
        triggered_by_id=None,
        chunk_size=5_000,
    )
    Run.objects.filter(pk=run.pk).update(status=RunStatus.INTERRUPTED)
    api(None).get("/api/v1/me/saka/wallet/")  # a request for django-prometheus to count
    # when /metrics is scraped from the same host
    samples = scrape(api)
    # then the domain figures are there, read from the database
    for name in DOMAIN:
        assert name in samples, name
    assert samples["saka_domain_metrics_up"][()] == 1
    silo = samples["saka_system_balance_grains"][(("account", "silo"),)]
    assert silo == silo_summary().balance > 0
    assert samples["saka_system_balance_grains"][(("account", "pool"),)] == 0
    unfinished = samples["saka_runs_unfinished"]
    assert unfinished[(("run", "compost"), ("status", "interrupted"))] == 1
    assert unfinished[(("run", "compost"), ("status", "running"))] == 0
    assert samples["saka_runs_stalled"][(("run", "compost"),)] == 1
    assert samples["saka_runs_stalled"][(("run", "settlement"),)] == 0
    assert samples["saka_run_chunks"][(("run", "compost"), ("state", "planned"))] >= 1
    assert samples["saka_run_chunks"][(("run", "compost"), ("state", "done"))] == 0
    assert samples["saka_run_last_duration_seconds"][(("run", "compost"),)] >= 0
    assert (("run", "compost"),) in samples["saka_run_last_finished_timestamp_seconds"]
    # and django-prometheus's request metrics, and the code's histogram and counters
    assert "django_http_requests_total_by_method_total" in samples
    assert "saka_run_chunk_duration_seconds_bucket" in samples


def test_the_code_series_exist_before_anything_happened(api: Any) -> None:
    samples = scrape(api)
    chunks = samples["saka_run_chunk_duration_seconds_count"]
    for run, step in [
        ("compost", "compost"),
        ("redistribution", "freeze"),
        ("redistribution", "credit"),
        ("settlement", "settle"),
    ]:
        assert (("run", run), ("step", step)) in chunks
    for provider in ("stripe", "helloasso"):
        for outcome in ("booked", "ignored", "replayed"):
            labels = (("outcome", outcome), ("provider", provider))
            assert labels in samples["saka_payment_webhook_events_total"]


def test_webhook_outcomes_are_counted_by_code(member: Any) -> None:
    before = {
        o: counter("saka_payment_webhook_events_total", provider="stripe", outcome=o)
        for o in ("booked", "replayed", "ignored", "invalid_signature")
    }
    # when one event is delivered twice, an unhandled type once, and a forged one once
    event = payment_event(member_id=member.pk, amount=1_000)
    deliver(event)
    deliver(event)
    deliver(payment_event(member_id=member.pk, amount=1, event_type="charge.refunded"))
    with pytest.raises(InvalidSignature):
        handle(body_of(payment_event(member_id=member.pk, amount=5)), signature="t=1,v1=00")
    # then each outcome moved by one
    after = {
        o: counter("saka_payment_webhook_events_total", provider="stripe", outcome=o)
        for o in before
    }
    assert {o: after[o] - before[o] for o in before} == {
        "booked": 1,
        "replayed": 1,
        "ignored": 1,
        "invalid_signature": 1,
    }


def test_helloasso_deliveries_are_counted_under_their_provider(member: Any, settings: Any) -> None:
    # given HelloAsso configured
    settings.SAKA_HELLOASSO_WEBHOOK_SECRET = HELLOASSO_SECRET

    def both(outcome: str) -> tuple[float, float]:
        return (
            counter("saka_payment_webhook_events_total", provider="helloasso", outcome=outcome),
            counter("saka_payment_webhook_events_total", provider="stripe", outcome=outcome),
        )

    before = {o: both(o) for o in ("booked", "replayed", "invalid_signature")}
    # when a HelloAsso payment is delivered twice and a forged one once
    event = helloasso_event(member_id=member.pk, amount=2_000)
    hdeliver(event)
    hdeliver(event)
    with pytest.raises(InvalidSignature):
        helloasso_handle(helloasso_body(event), "00" * 32)
    # then they moved HelloAsso's series, not Stripe's
    after = {o: both(o) for o in before}
    moved = {o: (after[o][0] - before[o][0], after[o][1] - before[o][1]) for o in before}
    assert moved == {"booked": (1, 0), "replayed": (1, 0), "invalid_signature": (1, 0)}


def test_idempotent_replays_are_counted_by_service(member: Any) -> None:
    pocket = counter("saka_idempotent_replays_total", service="euro.pocket")
    harvest = counter("saka_idempotent_replays_total", service="saka.harvest")
    # when a pocket is created twice with one key, and a harvest once with another
    pocket_create(member_id=member.pk, name="Rent", idempotency_key="k-1")
    pocket_create(member_id=member.pk, name="Rent", idempotency_key="k-1")
    wallet_harvest(member_id=member.pk, reason="invite_accepted", idempotency_key="k-2")
    # then one replay of the pocket was counted, none of the harvest
    assert counter("saka_idempotent_replays_total", service="euro.pocket") - pocket == 1
    assert counter("saka_idempotent_replays_total", service="saka.harvest") - harvest == 0


def test_without_a_token_only_loopback_clients_get_the_metrics(api: Any) -> None:
    assert api(None).get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert api(None).get("/metrics", REMOTE_ADDR="10.0.0.7").status_code == 403
    assert api(None).get("/metrics", REMOTE_ADDR="").status_code == 403


def test_with_a_token_only_its_bearer_gets_the_metrics(api: Any, settings: Any) -> None:
    settings.SAKA_METRICS_TOKEN = "s3cret-scrape"
    right = {"HTTP_AUTHORIZATION": "Bearer s3cret-scrape", "REMOTE_ADDR": "10.0.0.7"}
    assert api(None).get("/metrics", **right).status_code == 200
    # a loopback client without it, a wrong token, another scheme: refused
    assert api(None).get("/metrics").status_code == 403
    wrong = {"HTTP_AUTHORIZATION": "Bearer s3cret-scrapf"}
    assert api(None).get("/metrics", **wrong).status_code == 403
    assert api(None).get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-scrape").status_code == 403


def test_multiprocess_mode_sums_the_processes_files(
    api: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # given a counter this process moved (in its memory: the variable was not set when it
    # started), seen in a plain scrape
    webhook_events.labels(provider="stripe", outcome="booked").inc()
    assert "saka_payment_webhook_events_total" in scrape(api)
    # when PROMETHEUS_MULTIPROC_DIR is set (gunicorn's workers write their counters there)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(api)
    # then the code's metrics come from that directory's files (none here), and the domain
    # figures are read as always
    assert "saka_payment_webhook_events_total" not in samples
    assert "saka_system_balance_grains" in samples


def test_a_database_down_still_answers_with_up_zero(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saka.ops import metrics

    def down() -> Any:
        raise RuntimeError("database down")

    monkeypatch.setattr(metrics, "system_balances", down)
    samples = scrape(api)
    assert samples["saka_domain_metrics_up"][()] == 0
    assert "saka_system_balance_grains" not in samples
