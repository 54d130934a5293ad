"""The project served for browser tests: its own PostgreSQL database (a copy of the migrated
pytest database, filled by ``saka_demo``), gunicorn on a free 127.0.0.1 port, and Debian's
Chromium driven by Playwright (never a downloaded browser).

``DemoSite.start()`` copies the database, books the demo in a child process (then, as
``make demo``, the economy snapshot and a reconcile), starts the
server and waits until a page answers; ``django(code)`` runs Python in a child process
on that database (the test process keeps its own, untouched); ``stop()`` ends the server and
drops the copy. Screenshots go to ``SAKA_SCREENSHOTS_DIR`` when set (``make screenshots``
refreshes ``docs/screenshots/``), else to a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from django.db import connection

from tests.support.celery_workers import (
    REPO,
    START_SECONDS,
    child_database_url,
    child_env,
    die_with_parent,
    stop_processes,
)
from tests.support.pgbouncer import free_port

CHROMIUM = os.environ.get("SAKA_CHROMIUM", "/usr/bin/chromium")
DEMO_PASSWORD = "demo"  # saka_demo's members' password (member001 .. member300)
ADMIN = ("admin", "admin")  # saka_demo's superuser


def chromium_path() -> str | None:
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    return found or None


def screenshots_dir() -> Path:
    configured = os.environ.get("SAKA_SCREENSHOTS_DIR")
    path = Path(configured) if configured else Path(tempfile.gettempdir()) / "saka-screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _admin_dsn(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


@dataclass
class DemoSite:
    port: int = 0
    name: str = ""
    popen: subprocess.Popen[Any] | None = None
    log: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="saka-site-")) / "log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return child_database_url().rsplit("/", 1)[0] + f"/{self.name}"

    def env(self, **overrides: str) -> dict[str, str]:
        # no REDIS_URL: the server's cache (throttles) is per process, nothing shared with tests
        env = child_env(DATABASE_URL=self.database_url, **overrides)
        env.pop("REDIS_URL", None)
        return env

    def start(self) -> DemoSite:
        template = connection.settings_dict["NAME"]
        self.name = f"{template}_site_{uuid.uuid4().hex[:6]}"
        connection.close()  # CREATE DATABASE ... TEMPLATE needs the template without sessions
        with psycopg.connect(_admin_dsn(child_database_url()), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{template}"')
        self.manage("saka_demo")
        self.manage("saka_economy_snapshot")  # as make demo: the dashboard's full-scan panels
        self.manage("saka_reconcile")  # the books panel's last result
        self.port = free_port()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"],
            cwd=REPO,
            env=self.env(
                GUNICORN_BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY="2", GUNICORN_THREADS="4"
            ),
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{self.url}/admin/login/", timeout=2):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the server did not answer: {self.log.read_text(errors='replace')}")

    def manage(self, *args: str) -> str:
        """``manage.py`` on the site's database; returns its output, raises on failure."""
        done = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def django(self, code: str) -> str:
        """Run ``code`` (after ``django.setup()``) on the site's database; its stdout."""
        return self.manage("shell", "-c", code)

    def django_background(self, code: str) -> subprocess.Popen[str]:
        """Start ``code`` (as :meth:`django`) without waiting; the caller waits for it."""
        return subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=REPO,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def stop(self) -> None:
        if self.popen is not None:
            stop_processes([self.popen])
        if self.name:
            with psycopg.connect(_admin_dsn(child_database_url()), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
