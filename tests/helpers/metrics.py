"""A server's Prometheus metrics, as the tests read them."""

from __future__ import annotations

import urllib.request


def scrape(port: int) -> str:
    """What the metrics endpoint a server serves on ``port`` answers now."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        return answer.read().decode()  # type: ignore[no-any-return]


def sample(text: str, name: str) -> float | None:
    """The value of the sample ``name`` in a scrape's ``text``, labels
    written as the endpoint writes them (``bento_rpcs_total{code="OK",...}``);
    None when there is no such sample."""
    for line in text.splitlines():
        key, _, value = line.rpartition(" ")
        if key == name:
            return float(value)
    return None
