"""Gunicorn's configuration for the reference project: ``gunicorn -c config/gunicorn.py``.

The WSGI app is ``config.wsgi:application``; pass ``DJANGO_SETTINGS_MODULE`` (``make serve``
and the systemd unit use ``config.settings.production``). Environment:

- ``GUNICORN_BIND`` (``127.0.0.1:8000``): address, or ``unix:/run/saka/web.sock``, the proxy
  in front connects to. Several are comma-separated.
- ``WEB_CONCURRENCY`` (2 x cores + 1): worker processes. The requests are short and wait on
  PostgreSQL, so a few more processes than cores keep the cores busy while others wait;
  each process holds one database connection (``CONN_MAX_AGE`` 60 s). Cores are the ones this
  process may run on (a container's or a systemd ``CPUAffinity`` share, not the host's).
- ``GUNICORN_THREADS`` (1): threads per worker; above 1 gunicorn uses its ``gthread`` worker,
  one database connection per thread.
- ``GUNICORN_TIMEOUT`` (60 s): a worker silent this long is killed and replaced (a staff dry
  run of a large population is the longest request).
- ``GUNICORN_ACCESS_LOG`` (off): ``-`` writes gunicorn's access log to stdout, or a file path.
  Off by default: the application logs its requests itself (``LOGGING``).

The app is loaded once in the master before the workers fork (``preload_app``): a settings
error (a missing ``DJANGO_SECRET_KEY``) stops the start at once with its message, and the
workers share the loaded code's memory.
"""

from __future__ import annotations

import os


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


wsgi_app = "config.wsgi:application"
bind = [b.strip() for b in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")]
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * _cores() + 1)
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5  # seconds: the proxy in front reuses its connections
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# replaces a worker after this many requests (with jitter, not all at once): a slow leak in
# any library stays bounded
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# the master's temporary heartbeat files in memory, not on a possibly slow disk
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
