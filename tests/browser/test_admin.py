"""The browser stack itself: the demo's staff user logs in to the admin in Chromium."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.browser import ADMIN


def test_staff_logs_in_to_the_admin(new_page: Callable[..., Any]) -> None:
    # given the demo served by gunicorn and a fresh browser
    page = new_page()
    # when the demo's admin logs in to Django's admin
    page.goto("/admin/login/")
    page.fill("#id_username", ADMIN[0])
    page.fill("#id_password", ADMIN[1])
    page.click("input[type=submit]")
    # then the admin index lists the SAKA runs
    page.wait_for_url("**/admin/")
    assert page.locator("a[href='/admin/grains/run/']").count() >= 1
