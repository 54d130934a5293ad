"""GET /healthz: 503 when the database or the broker is down; 200 "degraded" when beat is
stale, a run is stalled or the last compost is overdue (503 with ?strict=1); 200 "ok" else."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db.utils import OperationalError
from django.utils import timezone

from saka.grains.models import Run, RunKind, RunStatus, RunTrigger
from saka.grains.runs.compost import COMPOST, compost_run_start
from saka.grains.runs.lifecycle import open_live
from saka.jobs import tasks
from saka.jobs.heartbeat import BEAT_KEY, WORKER_KEY, heartbeat_last_seen, heartbeat_record
from saka.jobs.schedule import HEARTBEAT_TASK, ROLLUP_TASK
from saka.ops import health
from tests.support.clock import A

pytestmark = pytest.mark.django_db

BROKER = "memory://"  # kombu's in-process transport: always reachable


@pytest.fixture(autouse=True)
def _own_cache(settings: Any) -> None:
    # the heartbeats live in the cache: a cache of the test's own (CI's REDIS_URL is shared)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"saka-ops-tests-{uuid.uuid4().hex}",
        }
    }
    cache.clear()


@pytest.fixture
def with_broker(settings: Any) -> Any:
    """A deployment with a broker and beat (not eager)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = BROKER
    return settings


def get(api: Any, path: str = "/healthz") -> Any:
    response = api(None).get(path)
    return response, response.json()


def test_a_healthy_deployment_without_broker_is_ok(api: Any) -> None:
    # given eager tasks (no broker, no beat) and a working database
    # when the probe is read, anonymously
    response, body = get(api)
    # then it is 200 ok; the broker and beat checks do not apply
    assert response.status_code == 200
    assert body["status"] == "ok"
    statuses = {name: c["status"] for name, c in body["checks"].items()}
    assert statuses == {
        "database": "ok",
        "broker": "skipped",
        "beat": "skipped",
        "runs": "ok",
        "stalled": "ok",
    }
    assert response["Cache-Control"].startswith("max-age=0")


def test_beat_seen_recently_is_ok_and_never_seen_is_degraded(api: Any, with_broker: Any) -> None:
    # given a broker and no heartbeat yet
    response, body = get(api)
    # then the probe is degraded but still 200 (503 only when strict)
    assert (response.status_code, body["status"]) == (200, "degraded")
    assert body["checks"]["beat"]["status"] == "degraded"
    assert body["checks"]["broker"]["status"] == "ok"
    assert api(None).get("/healthz?strict=1").status_code == 503
    # when beat beats
    heartbeat_record(BEAT_KEY)
    response, body = get(api)
    # then all is ok
    assert (response.status_code, body["status"]) == (200, "ok")
    assert body["checks"]["beat"]["age_seconds"] < 120


def test_a_stale_beat_is_degraded(api: Any, with_broker: Any) -> None:
    heartbeat_record(BEAT_KEY, at=timezone.now() - timedelta(seconds=121))
    _, body = get(api)
    assert body["checks"]["beat"]["status"] == "degraded"
    assert body["checks"]["beat"]["age_seconds"] >= 121


def test_beat_publishing_the_heartbeat_is_its_sighting(with_broker: Any) -> None:
    from saka.jobs.heartbeat import _beat_published

    # when beat publishes another task, nothing is recorded
    _beat_published(sender=ROLLUP_TASK)
    assert heartbeat_last_seen(BEAT_KEY) is None
    # when it publishes the heartbeat, beat is seen; when a worker runs it, the workers are
    _beat_published(sender=HEARTBEAT_TASK)
    assert heartbeat_last_seen(BEAT_KEY) is not None
    assert heartbeat_last_seen(WORKER_KEY) is None
    tasks.heartbeat.apply()
    assert heartbeat_last_seen(WORKER_KEY) is not None


def test_a_broker_down_fails_the_probe(api: Any, with_broker: Any) -> None:
    # given a broker nobody listens on
    with_broker.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    heartbeat_record(BEAT_KEY)
    # when the probe is read
    response, body = get(api)
    # then it is 503 and says which check failed, with the error's type only
    assert (response.status_code, body["status"]) == (503, "fail")
    assert body["checks"]["broker"] == {"status": "fail", "error": "OperationalError"}
    assert body["checks"]["database"]["status"] == "ok"


def test_a_database_down_fails_the_probe(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a database that refuses every statement of the probe
    class Down:
        vendor = "postgresql"

        def cursor(self) -> Any:
            raise OperationalError("connection refused (host db.internal, user saka)")

    monkeypatch.setattr(health, "connection", Down())
    # when the probe is read
    response, body = get(api)
    # then it is 503; the reads that need the database are skipped; no error text leaks
    assert (response.status_code, body["status"]) == (503, "fail")
    assert body["checks"]["database"] == {"status": "fail", "error": "OperationalError"}
    assert body["checks"]["runs"]["status"] == body["checks"]["stalled"]["status"] == "skipped"
    assert "db.internal" not in response.content.decode()


def test_a_stalled_run_is_degraded_and_named(api: Any) -> None:
    # given a compost that was interrupted and that nobody works on
    run, _ = open_live(
        COMPOST,
        kind=RunKind.COMPOST,
        at=A,
        trigger=RunTrigger.PYTHON,
        triggered_by_id=None,
        chunk_size=5_000,
    )
    Run.objects.filter(pk=run.pk).update(status=RunStatus.INTERRUPTED)
    # when the probe is read
    response, body = get(api)
    # then it is 200 degraded and names the run
    assert (response.status_code, body["status"]) == (200, "degraded")
    assert body["checks"]["stalled"] == {
        "status": "degraded",
        "run_ids": {"compost": [run.pk], "redistribution": [], "settlement": []},
    }


def test_an_overdue_compost_is_degraded(api: Any, member: Any) -> None:
    # given a compost that finished 7 days ago: on time
    run = compost_run_start(as_of=A)
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=7))
    _, body = get(api)
    compost = body["checks"]["runs"]["compost"]
    assert (body["checks"]["runs"]["status"], compost["last_run_id"]) == ("ok", run.pk)
    assert compost["overdue"] is False
    assert body["checks"]["runs"]["redistribution"]["last_run_id"] is None
    # when it finished 9 days ago (the weekly slot was missed)
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=9))
    response, body = get(api)
    # then the probe is degraded
    assert (response.status_code, body["checks"]["runs"]["status"]) == (200, "degraded")
    assert body["checks"]["runs"]["compost"]["overdue"] is True
