"""Every cursor-paginated list refuses what it never issued with a 400: a cursor that decodes to
a position that is not an id (``invalid_cursor``, never a 500 from ``id < 'abc'``), a cursor that
does not decode (``invalid_cursor``, not a 404), and a ``page_size`` outside 1..200
(``validation_error``, never silently the default)."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from saka.api.common.pagination import NewestFirst

pytestmark = pytest.mark.django_db


def _patterns(resolver: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from _patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield "/" + prefix + str(p.pattern), p.callback


def paginated_lists() -> list[str]:
    """The URL of every view paginated by ``NewestFirst`` (found in the URLconf, so a new list
    is covered without editing this test)."""
    urls = []
    for route, callback in _patterns(get_resolver()):
        view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        paginator = getattr(view, "pagination_class", None)
        if paginator is not None and issubclass(paginator, NewestFirst):
            assert "<" not in route, f"give {route} a path argument in this test"
            urls.append(route)
    return sorted(urls)


LISTS = paginated_lists()


def test_the_known_lists_are_found() -> None:
    for url in (
        "/api/v1/me/saka/history/",
        "/api/v1/me/euro/history/",
        "/api/v1/me/euro/pledges/",
        "/api/v1/staff/saka/runs/",
    ):
        assert url in LISTS


@pytest.fixture
def caller(django_user_model: Any) -> Any:
    """A superuser: every list's permission lets it through to the paginator."""
    return django_user_model.objects.create_superuser("edge-su", "su@example.org", "pw")


def _cursor(querystring: str) -> str:
    return b64encode(querystring.encode("ascii")).decode("ascii")


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(_cursor("p=abc"), id="position-abc"),
        pytest.param(_cursor("p=1.5"), id="position-float"),
        pytest.param(_cursor("p=-1"), id="position-negative"),
        pytest.param(_cursor("p=" + "9" * 30), id="position-huge"),
        pytest.param(_cursor("p=%D9%A1"), id="position-arabic-digit"),
        pytest.param(_cursor("o=x"), id="offset-not-a-number"),
        pytest.param(_cursor("r=x"), id="reverse-not-a-number"),
        pytest.param("garbage", id="not-base64"),
        pytest.param(b64encode(b"\xff\xfe").decode(), id="not-ascii"),
    ],
)
def test_a_cursor_never_issued_is_400_invalid_cursor(
    url: str, cursor: str, caller: Any, api: Any, assert_error: Any
) -> None:
    # when a client sends a cursor the server never issued (a correctly encoded one included)
    response = api(caller).get(url, {"cursor": cursor})
    # then 400 invalid_cursor: not a 404, never a 500
    assert_error(response, 400, "invalid_cursor")


@pytest.mark.parametrize("url", LISTS)
def test_an_issued_cursor_still_pages(url: str, caller: Any, api: Any) -> None:
    # a valid position (the id of the last row seen) is accepted
    response = api(caller).get(url, {"cursor": _cursor("p=12345"), "page_size": "200"})
    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("page_size", ["abc", "-1", "0", "201", "100000", "1.5", "\u0661"])
def test_a_bad_page_size_is_400(
    url: str, page_size: str, caller: Any, api: Any, assert_error: Any
) -> None:
    error = assert_error(api(caller).get(url, {"page_size": page_size}), 400, "validation_error")
    assert "page_size" in error["data"]["fields"]


@pytest.mark.parametrize("page_size", ["1", "200"])
def test_page_size_bounds_are_accepted(page_size: str, caller: Any, api: Any) -> None:
    assert api(caller).get(LISTS[0], {"page_size": page_size}).status_code == 200


def test_the_schema_bounds_page_size(caller: Any, api: Any) -> None:
    schema = api(caller).get("/api/schema/", {"format": "json"}).json()
    for url in LISTS:
        parameters = schema["paths"][url]["get"]["parameters"]
        (page_size,) = (p for p in parameters if p["name"] == "page_size")
        assert page_size["schema"]["minimum"] == 1
        assert page_size["schema"]["maximum"] == 200
