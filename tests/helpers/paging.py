"""Walking a List call to its end, one copy for every test.

Through the Python client, ``Client.pages`` does it; these are the same
walk for a raw stub (``pages``, ``every``) and for a use case's
``paging.Listed`` answers in process (``every_listed``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def pages(call: Callable[[Any], Any], request: Any) -> Iterator[Any]:
    """Every response of a List call, page after page: ``call(request)``
    once per page, each time with the ``page_token`` the last one gave,
    until one gives none. ``request`` itself is left as it was."""
    page = type(request)()
    page.CopyFrom(request)
    while True:
        response = call(page)
        yield response
        if not response.next_page_token:
            return
        page.page_token = response.next_page_token


def every(call: Callable[[Any], Any], request: Any, field: str) -> list[Any]:
    """Every item of a List call: ``field`` names the list in the response
    ("plans", "events", ...), as ``Client.pages`` takes it."""
    return [item for response in pages(call, request) for item in getattr(response, field)]


def every_listed(call: Callable[[str], Any]) -> list[Any]:
    """Every item of a use case's list: ``call(page_token)`` answers one
    ``paging.Listed`` page."""
    found: list[Any] = []
    token = ""
    while True:
        listed = call(token)
        found.extend(listed.items)
        token = listed.next_page_token
        if not token:
            return found
