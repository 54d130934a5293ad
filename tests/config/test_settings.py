"""The reference project's settings as a deployment starts them: each case is a fresh Python
process with only the environment it names (a settings module reads the environment once, at
import), so what it shows is what ``gunicorn`` or ``manage.py`` would get."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
KEY = "a-test-only-secret-key-that-is-long-enough-and-random-looking-0123456789"
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": KEY,
    "DJANGO_ALLOWED_HOSTS": "saka.example.org",
    "DATABASE_URL": "postgres://saka@db.invalid:5432/saka",
    "REDIS_URL": "redis://redis.invalid:6379/0",
}
SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({n: str(getattr(s, n)) for n in ("
    "'DEBUG', 'SECRET_KEY', 'STORAGES', 'SECURE_SSL_REDIRECT', 'CELERY_RESULT_BACKEND', "
    "'CELERY_BEAT_SCHEDULER', 'STATIC_ROOT', 'MIDDLEWARE', 'CSRF_TRUSTED_ORIGINS')}))"
)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # the machine's environment without any of the project's settings, then ``env``
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "SAKA_", "CELERY_"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
    base["PYTHONPATH"] = str(REPO / "src")
    return subprocess.run(  # noqa: S603
        [sys.executable, *args],
        env={**base, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _settings(env: dict[str, str]) -> dict[str, Any]:
    done = _run(env, "-c", SHOW)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"]
)
def test_production_refuses_to_start_without_a_required_variable(missing: str) -> None:
    # given the production environment less one variable
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    # when Django starts
    done = _run(env, "-c", SHOW)
    # then it stops with a message naming the variable
    assert done.returncode != 0
    assert f"ImproperlyConfigured: {missing} must be set in production." in done.stderr


def test_production_refuses_a_blank_secret_key() -> None:
    done = _run({**PRODUCTION, "DJANGO_SECRET_KEY": "  "}, "-c", SHOW)
    assert done.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set in production." in done.stderr


def test_production_serves_hashed_compressed_static_files_and_keeps_results_on_redis() -> None:
    shown = _settings(PRODUCTION)
    assert shown["DEBUG"] == "False"
    assert shown["SECRET_KEY"] == KEY
    assert "whitenoise.storage.CompressedManifestStaticFilesStorage" in shown["STORAGES"]
    assert shown["SECURE_SSL_REDIRECT"] == "True"
    assert shown["CELERY_RESULT_BACKEND"] == PRODUCTION["REDIS_URL"]
    assert shown["CELERY_BEAT_SCHEDULER"] == "django_celery_beat.schedulers:DatabaseScheduler"
    assert shown["STATIC_ROOT"] == str(REPO / "staticfiles")
    # WhiteNoise right after the security middleware: its redirects come before any file
    middleware = shown["MIDDLEWARE"]
    assert middleware.index("SecurityMiddleware") < middleware.index("WhiteNoiseMiddleware")
    assert middleware.index("WhiteNoiseMiddleware") < middleware.index("SessionMiddleware")


def test_production_knobs_plain_http_static_root_and_trusted_origins() -> None:
    shown = _settings(
        {
            **PRODUCTION,
            "SAKA_SECURE_SSL_REDIRECT": "0",
            "DJANGO_STATIC_ROOT": "/srv/s",
            "DJANGO_CSRF_TRUSTED_ORIGINS": "https://a.example, https://b.example",
        }
    )
    assert shown["SECURE_SSL_REDIRECT"] == "False"
    assert shown["STATIC_ROOT"] == "/srv/s"
    assert shown["CSRF_TRUSTED_ORIGINS"] == str(["https://a.example", "https://b.example"])


def test_production_passes_the_deployment_checks(tmp_path: Path) -> None:
    # given the production environment (a SQLite file: the checks do not connect)
    env = {**PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    # when Django's deployment checks run, warnings counting as errors
    done = _run(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    # then there is nothing to report but the HSTS preload reminder, silenced on purpose
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (1 silenced)." in done.stdout


def test_local_settings_refuse_the_development_key_with_debug_off() -> None:
    # given the local settings with DEBUG off and no key of one's own
    done = _run(
        {"DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "0"}, "-c", SHOW
    )
    # then Django does not start
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0" in done.stderr


def test_local_settings_start_with_debug_off_and_a_key_or_with_debug_on() -> None:
    off = _settings(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": KEY,
        }
    )
    assert (off["DEBUG"], off["SECRET_KEY"]) == ("False", KEY)
    on = _settings({"DJANGO_SETTINGS_MODULE": "config.settings.local"})
    assert on["DEBUG"] == "True"
    # no collectstatic on a developer's machine: Django's own storage, files from the apps
    assert "whitenoise" not in on["STORAGES"]


def test_the_wsgi_app_loads_without_opening_a_connection(tmp_path: Path) -> None:
    # gunicorn loads the app once and forks its workers (preload_app): a connection opened
    # while loading would be shared by every worker. Given unreachable database and Redis
    # hosts and a static root that exists, loading the app opens nothing and warns of nothing
    (tmp_path / "static").mkdir()
    env = {**PRODUCTION, "DJANGO_STATIC_ROOT": str(tmp_path / "static")}
    code = (
        "import warnings; warnings.simplefilter('error'); from config.wsgi import application; "
        "from django.db import connections; print([c.connection for c in connections.all()])"
    )
    done = _run(env, "-W", "error", "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[None]"


def test_production_reads_the_alerts_addresses_and_mail_server() -> None:
    # given a deployment with alert addresses and an SMTP server in its environment
    env = {
        **PRODUCTION,
        "SAKA_ALERT_EMAILS": "ops@example.org, oncall@example.org",
        "DJANGO_EMAIL_HOST": "smtp.example.org",
        "DJANGO_EMAIL_PORT": "587",
        "DJANGO_EMAIL_USE_TLS": "1",
    }
    show = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SAKA_ALERT_EMAILS, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS]))"
    )
    done = _run(env, "-c", show)
    assert done.returncode == 0, done.stderr
    # then the addresses are a list and the server is the one named
    assert json.loads(done.stdout) == [
        ["ops@example.org", "oncall@example.org"],
        "smtp.example.org",
        587,
        True,
    ]
    # and an invalid address refuses to start, naming the setting
    refused = _run({**env, "SAKA_ALERT_EMAILS": "ops@example.org,not-an-address"}, "-c", show)
    assert refused.returncode != 0
    assert "SAKA_ALERT_EMAILS" in refused.stderr
