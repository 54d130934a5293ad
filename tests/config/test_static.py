"""Static files without collectstatic (the local and test settings): WhiteNoise serves them
from the apps' folders whether DEBUG is on or off (pytest runs with DEBUG off), so the Swagger
UI and the admin are styled on a developer's machine and under ``DJANGO_DEBUG=0``. The
production side (collected, hashed, compressed, behind gunicorn) is ``scripts/serve_smoke.sh``.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client


@pytest.mark.django_db
def test_the_swagger_ui_page_and_the_assets_it_references_are_served() -> None:
    # given DEBUG off, as in a server started with DJANGO_DEBUG=0
    assert settings.DEBUG is False
    client = Client()
    # when the docs page is fetched
    page = client.get("/api/docs/")
    # then it and each sidecar script and style it names are served, with their types
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="(/static/drf_spectacular_sidecar/[^"]+)"', page.text)
    assert {a.rsplit(".", 1)[1] for a in assets} >= {"js", "css"}
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        expected = {"js": "text/javascript", "css": "text/css", "png": "image/png"}
        assert response["Content-Type"].startswith(expected[asset.rsplit(".", 1)[1]]), asset


def test_the_admin_stylesheet_is_served_and_an_unknown_file_is_not() -> None:
    client = Client()
    css = client.get("/static/admin/css/base.css")
    assert css.status_code == 200
    assert css["Content-Type"].startswith("text/css")
    assert b"".join(css.streaming_content)
    assert client.get("/static/admin/css/no-such-file.css").status_code == 404
