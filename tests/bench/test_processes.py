"""The fan-out's piped worker processes (``bench.processes``): warm, ``ready`` on stdout, one
line on stdin, one JSON result; a worker that exits first is an error. No database: the
children are ``manage.py shell -c`` one-liners."""

from __future__ import annotations

import pytest

from bench.dbs import BenchError
from bench.processes import finish_piped, kill_running, send, start_piped, wait_ready

ECHO = (
    "import json, sys; print('warming up'); print('ready', flush=True); "
    "line = sys.stdin.readline(); print(json.dumps({'got': int(line)}))"
)


def test_piped_workers_wait_for_their_line_and_report_what_they_got() -> None:
    # given two workers that say they are ready, then wait for a line on stdin
    workers = start_piped([["shell", "-c", ECHO], ["shell", "-c", ECHO]])
    try:
        # when both are ready and each is sent its line
        wait_ready(workers, what="echo worker")
        for n, w in enumerate(workers):
            assert w.proc.poll() is None  # still waiting for its line
            send(w, str(n + 7))
        results = finish_piped(workers, timeout=60, what="echo worker")
    finally:
        kill_running(workers)
    # then each reports its own line (what was printed before "ready" is skipped)
    assert results == [{"got": 7}, {"got": 8}]


def test_a_worker_that_exits_before_it_is_ready_is_an_error() -> None:
    # given a worker that fails before saying it is ready
    workers = start_piped([["shell", "-c", "import sys; sys.exit('no database for me')"]])
    try:
        # then waiting for it names its exit status and its last words
        with pytest.raises(BenchError, match="echo worker exited 1: no database for me"):
            wait_ready(workers, what="echo worker")
    finally:
        kill_running(workers)
