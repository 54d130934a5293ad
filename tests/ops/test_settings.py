"""The observability settings: JSON logs and the database wrapper by default in production,
plain logs and no wrapper elsewhere, each switchable by its environment variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings.base import database

REPO = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, config.settings.production as s; "
    "print(json.dumps({'format': s.LOGGING['handlers']['console']['formatter'], "
    "'engine': s.DATABASES['default']['ENGINE']}))"
)


def production(**env: str) -> dict[str, str]:
    base = {
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "saka.example",
        "DATABASE_URL": "postgres://saka@db.invalid:5432/saka",
        "REDIS_URL": "redis://redis.invalid:6379/0",
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SAKA_", "DJANGO_"))}
    out = subprocess.run(  # noqa: S603 - fixed argv: this interpreter and a constant probe
        [sys.executable, "-c", PROBE],
        env={**keep, **base, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, str] = json.loads(out.stdout)
    return result


def test_production_logs_json_and_measures_its_queries_by_default() -> None:
    assert production() == {
        "format": "json",
        "engine": "django_prometheus.db.backends.postgresql",
    }


def test_production_can_log_plain_and_leave_the_driver_alone() -> None:
    assert production(SAKA_LOG_FORMAT="plain", SAKA_DB_METRICS="0") == {
        "format": "plain",
        "engine": "django.db.backends.postgresql",
    }


@pytest.mark.parametrize(
    ("url", "wrapped"),
    [
        ("postgres://u@h/db", "django_prometheus.db.backends.postgresql"),
        ("sqlite:///tmp.db", "django_prometheus.db.backends.sqlite3"),
    ],
)
def test_the_database_wrapper_keeps_every_other_setting(url: str, wrapped: str) -> None:
    plain, measured = database(url, metrics=False), database(url, metrics=True)
    assert measured["ENGINE"] == wrapped
    assert {**measured, "ENGINE": plain["ENGINE"]} == plain
