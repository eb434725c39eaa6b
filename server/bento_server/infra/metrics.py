"""Prometheus metrics, served on an optional HTTP port (--metrics-address).

RPC counts and latency by method and code, open event streams, how far
the billing clock lags behind the work that is due, and webhook attempts
by outcome with the backlog of deliveries waiting for a retry.

RPC figures are kept in plain counters that only the event loop writes
(every RPC's wrapper runs there), so recording a call takes no lock; the
scrape reads them through a collector.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import Counter, Gauge, start_http_server
from prometheus_client.core import REGISTRY, CounterMetricFamily, HistogramMetricFamily, Metric

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60)

OPEN_STREAMS = Gauge("bento_open_event_streams", "WatchEvents streams open on this server.")
SCHEDULER_LAG = Gauge(
    "bento_scheduler_lag_seconds",
    "At the end of the last sweep: how long the oldest work still due had been due (0 when none).",
)

DUE_WORK_FAILURES = Counter(
    "bento_due_work_failures",
    "Pieces of billing-clock work (one subscription each) that failed and were skipped "
    "until the next sweep; the log names each subscription. Access fails closed meanwhile.",
    ["work"],
)

WEBHOOK_DELIVERIES = Counter(
    "bento_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, http_status (a non-2xx answer), timeout, "
    "connection_error, refused (an address webhooks may not go to); gave_up counts deliveries "
    "that failed for 3 days and disabled their endpoint.",
    ["outcome"],
)
WEBHOOK_RETRY_BACKLOG = Gauge(
    "bento_webhook_retry_backlog",
    "Pending webhook deliveries that failed at least once (read every few seconds).",
)
WEBHOOK_OLDEST_UNDELIVERED = Gauge(
    "bento_webhook_oldest_undelivered_seconds",
    "Per endpoint with a pending delivery, how long ago its oldest one was first attempted "
    "(read every few seconds; endpoints with nothing pending are not listed).",
    ["endpoint_id"],
)

# (method, code) -> [count, total seconds, count per bucket (the last: above all)]
_calls: dict[tuple[str, str], list] = {}  # type: ignore[type-arg]


def observe(method: str, code: str, seconds: float) -> None:
    entry = _calls.get((method, code))
    if entry is None:
        entry = _calls[(method, code)] = [0, 0.0, [0] * (len(BUCKETS) + 1)]
    entry[0] += 1
    entry[1] += seconds
    entry[2][bisect_left(BUCKETS, seconds)] += 1


class _RpcCollector:
    def collect(self) -> Iterator[Metric]:
        counts = CounterMetricFamily(
            "bento_rpcs", "RPCs answered, by method and status code.", labels=["method", "code"]
        )
        durations = HistogramMetricFamily(
            "bento_rpc_duration_seconds",
            "Time to answer an RPC (to the end of the stream for streams), by method and status code.",
            labels=["method", "code"],
        )
        for (method, code), (count, total, buckets) in list(_calls.items()):
            counts.add_metric([method, code], count)
            cumulative = list(itertools.accumulate(buckets))
            durations.add_metric(
                [method, code],
                buckets=[(str(b), cumulative[i]) for i, b in enumerate(BUCKETS)]
                + [("+Inf", cumulative[-1])],
                sum_value=total,
            )
        yield counts
        yield durations


REGISTRY.register(_RpcCollector())  # type: ignore[arg-type]


def serve(address: str) -> None:
    """Serves /metrics on ``address`` ("host:port") from a background thread."""
    host, _, port = address.rpartition(":")
    start_http_server(int(port), addr=host or "127.0.0.1")
