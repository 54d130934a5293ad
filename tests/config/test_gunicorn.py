"""config/gunicorn.py: the WSGI server's settings from the environment."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "gunicorn.py"
VARIABLES = ("GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_ACCESS_LOG")


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_defaults_two_workers_per_core_plus_one_on_localhost_and_no_access_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = _load(monkeypatch)
    cores = len(os.sched_getaffinity(0))
    assert conf["workers"] == 2 * cores + 1
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["wsgi_app"] == "config.wsgi:application"
    assert conf["accesslog"] is None  # the application logs its requests
    assert conf["preload_app"] is True  # a settings error stops the master at once


def test_the_environment_sets_address_workers_threads_and_access_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conf = _load(
        monkeypatch,
        GUNICORN_BIND="0.0.0.0:8000, unix:/run/saka/web.sock",
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="4",
        GUNICORN_ACCESS_LOG="-",
    )
    assert conf["bind"] == ["0.0.0.0:8000", "unix:/run/saka/web.sock"]
    assert (conf["workers"], conf["threads"], conf["accesslog"]) == (3, 4, "-")


def test_gunicorn_accepts_the_configuration() -> None:
    done = subprocess.run(  # noqa: S603
        [str(Path(sys.executable).with_name("gunicorn")), "--check-config", "-c", str(CONFIG)],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": "src"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
