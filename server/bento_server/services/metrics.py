"""Prometheus metrics, served on an optional HTTP port (--metrics-address).

RPC counts and latency by method and code, open event streams, and how far
the billing clock lags behind the work that is due.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RPCS = Counter("bento_rpcs_total", "RPCs answered, by method and status code.", ["method", "code"])
RPC_SECONDS = Histogram(
    "bento_rpc_duration_seconds",
    "Time to answer an RPC (to the end of the stream for streams), by method and status code.",
    ["method", "code"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60),
)
OPEN_STREAMS = Gauge("bento_open_event_streams", "WatchEvents streams open on this server.")
SCHEDULER_LAG = Gauge(
    "bento_scheduler_lag_seconds",
    "At the end of the last sweep: how long the oldest work still due had been due (0 when none).",
)


_children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}


def observe(method: str, code: str, seconds: float) -> None:
    # Labelled children looked up once: this runs on every call.
    child = _children.get((method, code))
    if child is None:
        child = _children.setdefault(
            (method, code), (RPCS.labels(method, code), RPC_SECONDS.labels(method, code))
        )
    child[0].inc()
    child[1].observe(seconds)


def serve(address: str) -> None:
    """Serves /metrics on ``address`` ("host:port") from a background thread."""
    host, _, port = address.rpartition(":")
    start_http_server(int(port), addr=host or "127.0.0.1")
