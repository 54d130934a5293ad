"""Logs: one handler on the root logger (each line once, in the web process and in Celery's),
JSON lines with the record's fields, and one line per request with its request id."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.celery import app as celery_app
from config.settings.base import logging_config
from saka.ops.logs import REQUEST_ID_HEADER, RequestContextFilter


def handlers_reached(name: str) -> list[logging.Handler]:
    """The handlers a record of logger ``name`` goes through (propagation included)."""
    found: list[logging.Handler] = []
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        found += logger.handlers
        if not logger.propagate:
            break
        logger = logger.parent
    return [h for h in found if not isinstance(h, logging.NullHandler)]


@pytest.fixture
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("_MP_FORK_LOGLEVEL_", "_MP_FORK_LOGFILE_", "_MP_FORK_LOGFORMAT_"):
        monkeypatch.setenv(name, "")  # Celery's logging set-up writes them; restored after
    yield
    logging.config.dictConfig(settings.LOGGING)


@pytest.mark.parametrize("name", ["saka.runs", "saka.jobs", "saka.http", "celery.worker", "x"])
def test_every_logger_reaches_one_handler(name: str) -> None:
    # given the project's logging configuration (as Django applied it)
    logging.config.dictConfig(settings.LOGGING)
    # then a record of any logger is written once
    assert len(handlers_reached(name)) == 1


def test_a_celery_worker_keeps_djangos_logging(restore_logging: None) -> None:
    # given the project's logging configuration
    logging.config.dictConfig(settings.LOGGING)
    # when Celery sets up a worker's logging (as `celery -A config worker` does)
    celery_app.log.setup_logging_subsystem(loglevel="INFO")
    # then it installed no handler of its own: a saka line is still written once, by the
    # project's handler (its format and request filter)
    for name in ("saka.jobs", "saka.runs", "celery.app.trace"):
        (handler,) = handlers_reached(name)
        assert any(isinstance(f, RequestContextFilter) for f in handler.filters), name


def test_json_lines_carry_the_record_and_its_fields() -> None:
    # given the JSON configuration's formatter
    stream = io.StringIO()
    config = logging_config("json")
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        # when a run logs a line with its fields
        logging.getLogger("saka.runs").info(
            "run %s done", 7, extra={"event": "run.done", "run_id": 7, "counts": {"wallets": 3}}
        )
    finally:
        logging.config.dictConfig(settings.LOGGING)
    # then it is one JSON object with the standard fields and the extra ones
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert {k: record[k] for k in ("level", "logger", "message", "event", "run_id", "counts")} == {
        "level": "INFO",
        "logger": "saka.runs",
        "message": "run 7 done",
        "event": "run.done",
        "run_id": 7,
        "counts": {"wallets": 3},
    }
    assert record["time"].startswith("20")


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured):
        logging_config("xml")


# --- requests ----------------------------------------------------------------------------------


def request_lines(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [r for r in caplog.records if r.name == "saka.http"]


@pytest.mark.django_db
def test_one_line_per_request_with_its_user_and_id(
    api: Any, member: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # when a member reads their wallet
    response = api(member).get("/api/v1/me/saka/wallet/")
    # then one line says who asked what, the answer and its time, and the request's id
    assert response.status_code == 200
    (line,) = request_lines(caplog)
    assert (line.levelname, line.method, line.path, line.status, line.user_id) == (
        "INFO",
        "GET",
        "/api/v1/me/saka/wallet/",
        200,
        member.pk,
    )
    assert line.duration_ms >= 0
    assert line.request_id == response[REQUEST_ID_HEADER]
    assert len(line.request_id) == 32


@pytest.mark.django_db
def test_a_request_id_given_is_kept_and_a_forged_one_replaced(
    api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # when an anonymous client sends a sane request id, then one with a line break
    kept = api(None).get("/api/v1/me/saka/wallet/", HTTP_X_REQUEST_ID="lb-1234.abc")
    forged = api(None).get("/api/v1/me/saka/wallet/", HTTP_X_REQUEST_ID="x\nINFO forged")
    # then the first is answered and logged as it is, the second replaced
    assert kept[REQUEST_ID_HEADER] == "lb-1234.abc"
    assert forged[REQUEST_ID_HEADER] != "x\nINFO forged"
    first, second = request_lines(caplog)
    assert (first.request_id, first.status, first.user_id) == ("lb-1234.abc", 401, None)
    assert second.request_id == forged[REQUEST_ID_HEADER]


@pytest.mark.django_db
def test_probes_are_logged_at_debug(api: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="saka.http")
    api(None).get("/healthz")
    (line,) = request_lines(caplog)
    assert (line.levelname, line.path, line.status) == ("DEBUG", "/healthz", 200)


def test_the_filter_puts_the_request_id_on_every_record_of_the_request() -> None:
    from saka.ops import logs

    record = logging.LogRecord("saka.euro", logging.INFO, __file__, 1, "booked", None, None)
    token = logs._request_id.set("req-42")
    try:
        assert RequestContextFilter().filter(record)
    finally:
        logs._request_id.reset(token)
    assert record.request_id == "req-42"
    outside = logging.LogRecord("saka.euro", logging.INFO, __file__, 1, "booked", None, None)
    assert RequestContextFilter().filter(outside)
    assert not hasattr(outside, "request_id")


def test_the_filter_puts_the_task_id_on_every_record_of_a_task() -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep()
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("saka.tests.task")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    @celery_app.task(name="tests.ops.logs_in_a_task")
    def logs_in_a_task() -> None:
        logger.info("inside")

    try:
        # when a task logs (run eagerly, as in a worker) and code outside a task logs
        result = logs_in_a_task.apply()
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    # then the task's line carries its id, the other none
    inside, outside = seen
    assert inside.task_id == result.id
    assert not hasattr(outside, "task_id")
