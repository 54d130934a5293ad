"""The dashboard's "Season simulator" panel: the form on the page, its JSON endpoint (session,
``view_staff_data``, CSRF), the simulator's report, typed refusals."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.support.runs_reference import ledger_snapshot

pytestmark = pytest.mark.django_db

URL = "/dashboard/simulation.json"


@pytest.fixture
def auditor(make_user):
    return make_user(staff=True, roles=["auditor"])


def _client(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def _post(client: Client, body: dict, **headers):
    return client.post(URL, json.dumps(body), content_type="application/json", **headers)


def test_the_page_shows_the_panel_and_its_script(auditor):
    # when an auditor opens the dashboard, then the simulator's form posts to its endpoint
    html = _client(auditor).get("/dashboard/").content.decode()
    assert 'data-panel="simulator"' in html
    assert f'data-url="{URL}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "/static/saka_dashboard/simulator.js" in html


def test_an_auditor_gets_the_weekly_series(auditor):
    # given the database unchanged by what follows
    before = ledger_snapshot()
    # when an auditor simulates 8 weeks of 500 synthetic wallets at a compost rate of 0.2
    response = _post(
        _client(auditor),
        {"weeks": 8, "synthetic": 500, "seed": 3, "compost_rate": "0.2", "redistribution_rate": ""},
    )
    # then the report has 8 weeks at that rate, the redistribution rate in force, no write
    assert response.status_code == 200
    report = response.json()
    assert len(report["weeks"]) == 8
    assert report["parameters"]["compost_rate"] == "0.2"
    assert report["parameters"]["redistribution_rate"] == "0.05"
    assert report["weeks"][0]["composted"] > 0
    assert ledger_snapshot() == before


def test_refusals_are_typed(auditor):
    client = _client(auditor)
    for body, status, code in (
        ({"weeks": 105, "synthetic": 10}, 422, "simulation_too_large"),
        ({"weeks": 2, "synthetic": 10, "compost_rate": "x"}, 400, "validation_error"),
        ({"weeks": 2, "silo": 10}, 400, "validation_error"),
        ({"weeks": 0, "synthetic": 10}, 400, "validation_error"),
    ):
        response = _post(client, body)
        assert (response.status_code, response.json()["code"]) == (status, code), body


def test_the_endpoint_needs_the_view_permission_and_the_csrf_token(make_user, auditor):
    # a staff user whose role cannot read staff data: 403; an anonymous visitor: the log-in page
    adjuster = make_user(staff=True, roles=["saka_adjuster"])
    assert _post(_client(adjuster), {"weeks": 2, "synthetic": 10}).status_code == 403
    assert Client().post(URL, "{}", content_type="application/json").status_code == 302
    # a POST without the CSRF token is refused, with it accepted; GET is not allowed
    strict = _client(auditor, csrf=True)
    assert _post(strict, {"weeks": 2, "synthetic": 10}).status_code == 403
    strict.get("/dashboard/")
    token = strict.cookies["csrftoken"].value
    assert _post(strict, {"weeks": 2, "synthetic": 10}, HTTP_X_CSRFTOKEN=token).status_code == 200
    assert _client(auditor).get(URL).status_code == 405
