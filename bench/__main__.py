"""`make bench`: runs the benchmarks, prints a table, writes BENCHMARKS.md.

PostgreSQL runs need BENTO_BENCH_POSTGRES_URL (or BENTO_TEST_POSTGRES_URL):
an empty database is created beside it for each run and dropped after.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import charts, cores, renewals, revocation, scale, statements, streams, webhooks
from bench.measure import Rate
from bento_server.store.database import connect
from bento_server.store.migrations import migrate
from tests.support import create_postgres_database, drop_postgres_database

ROOT = Path(__file__).resolve().parent.parent
DUE = int(os.environ.get("BENTO_BENCH_SUBSCRIPTIONS", "100000"))
SECONDS = float(os.environ.get("BENTO_BENCH_SECONDS", "15"))
STREAM_SECONDS = float(os.environ.get("BENTO_BENCH_STREAM_SECONDS", "6"))
SIZES = [int(n) for n in os.environ.get("BENTO_BENCH_SIZES", "10000,100000,1000000").split(",")]
SCALE_SECONDS = float(os.environ.get("BENTO_BENCH_SCALE_SECONDS", "5"))
SUMMARY_SIZE = 100_000
CHARTS = ROOT / "bench" / "charts"


def _postgres_url() -> str | None:
    return os.environ.get("BENTO_BENCH_POSTGRES_URL") or os.environ.get("BENTO_TEST_POSTGRES_URL")


def _renewals_on(url: str) -> renewals.Result:
    store = connect(url)
    migrate(store)
    try:
        return renewals.run(store, DUE, SECONDS)
    finally:
        store.close()


def _on_each_store(measure):  # type: ignore[no-untyped-def]
    """[(store name, measure(url, folder))] for SQLite and, if configured, PostgreSQL."""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        results.append(("SQLite", measure(f"sqlite:///{folder}/bench.db", Path(folder))))
        pg = _postgres_url()
        if pg:
            url = create_postgres_database(pg, "bento_bench")
            try:
                results.append(("PostgreSQL", measure(url, Path(folder))))
            finally:
                drop_postgres_database(pg, url)
        else:
            print("PostgreSQL skipped: set BENTO_BENCH_POSTGRES_URL", file=sys.stderr)
    return results


def _fmt(rate: Rate, baseline: Rate) -> str:
    return (
        f"{rate.per_second:,.0f} | {rate.p50_ms:.2f} | {rate.p99_ms:.2f} "
        f"| {rate.ratio(baseline):.2f}"
    )


def _cpu(rate: Rate) -> str:
    return f"{rate.client_cpu:.2f}"


def _summary_table(
    scale_rows: list[tuple[str, list[scale.Step]]],
    renewal_rows: list[tuple[str, renewals.Result]],
    stream_rows: list[tuple[str, streams.Result]],
) -> str:
    """Every measure at 100,000 subscriptions beside its store's baseline."""
    lines = [
        "| store | measure | per second | p50 ms | p99 ms | ratio to baseline | client CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    renewed = dict(renewal_rows)
    streamed = dict(stream_rows)
    for store, steps in scale_rows:
        step = next((s for s in steps if s.subscriptions == SUMMARY_SIZE), steps[-1])
        baseline = step.rates[scale.MEASURES[0]]
        for label, rate in step.rates.items():
            lines.append(f"| {store} | {label} | {_fmt(rate, baseline)} | {_cpu(rate)} |")
        if store in renewed:
            sweep = renewed[store]
            lines.append(
                f"| {store} | renewal sweep, {sweep.due:,} due | {sweep.per_second:,.0f} | n/a | n/a "
                f"| {sweep.per_second / baseline.per_second:.2f} | n/a |"
            )
        if store in streamed:
            # Against the baseline of its own server, which holds the streams.
            run = streamed[store]
            lines.append(
                f"| {store} | event delivery to {streams.WATCHERS} watchers | "
                f"{_fmt(run.delivery, run.baseline)} | {_cpu(run.delivery)} |"
            )
    return "\n".join(lines)


def _growth_table(scale_rows: list[tuple[str, list[scale.Step]]]) -> str:
    """Each measure's rate at every size, and the largest size's share of the smallest's."""
    sizes = [step.subscriptions for step in scale_rows[0][1]]
    lines = [
        "| store | measure | "
        + " | ".join(f"{size:,}: per s (p99 ms)" for size in sizes)
        + f" | {sizes[-1]:,} / {sizes[0]:,} |",
        "|---|---|" + "---|" * (len(sizes) + 1),
    ]
    for store, steps in scale_rows:
        for label in scale.MEASURES:
            rates = [step.rates[label] for step in steps]
            cells = " | ".join(f"{r.per_second:,.0f} ({r.p99_ms:.1f})" for r in rates)
            lines.append(
                f"| {store} | {label} | {cells} | {rates[-1].per_second / rates[0].per_second:.2f} |"
            )
    return "\n".join(lines)


def _renewals_table(rows: list[tuple[str, renewals.Result]]) -> str:
    lines = [
        "| store | due subscriptions | renewed | renewals/s | baseline writes/s | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for store, result in rows:
        lines.append(
            f"| {store} | {result.due:,} | {result.renewed:,} | {result.per_second:,.0f} "
            f"| {result.baseline_per_second:,.0f} "
            f"| {result.per_second / result.baseline_per_second:.2f} |"
        )
    return "\n".join(lines)


def _streams_table(rows: list[tuple[str, streams.Result]]) -> str:
    lines = [
        "| store | measure | per second | p50 ms | p99 ms | ratio to baseline |",
        "|---|---|---|---|---|---|",
    ]
    for store, r in rows:
        for label, rate in (
            ("baseline: health Check", r.baseline),
            ("GetSubscription, no streams", r.unary_alone),
            (f"GetSubscription, {streams.WATCHERS} streams open", r.unary_with_watchers),
            (f"event delivery to {streams.WATCHERS} watchers", r.delivery),
        ):
            lines.append(f"| {store} | {label} | {_fmt(rate, r.baseline)} |")
    return "\n".join(lines)


def _statements_table(rows: list[tuple[str, dict[str, statements.Counted]]]) -> str:
    lines = ["| store | flow | statements | commits |", "|---|---|---|---|"]
    for store, counted in rows:
        for flow, c in counted.items():
            lines.append(f"| {store} | {flow} | {c.statements:.1f} | {c.commits:.1f} |")
    return "\n".join(lines)


def _revocation_table(rows: list[tuple[str, revocation.Result]]) -> str:
    lines = [
        "| store | stream on | p50 ms | worst ms | ratio to baseline (p50) |",
        "|---|---|---|---|---|",
    ]
    for store, r in rows:
        lines.append(
            f"| {store} | baseline: unary refused on the other server "
            f"| {r.unary_seconds * 1000:.0f} | | 1.00 |"
        )
        for label, delays in (
            ("the revoking server", r.same_server_seconds),
            ("the other server", r.other_server_seconds),
        ):
            p50 = r.p50(delays)
            lines.append(
                f"| {store} | {label} | {p50 * 1000:.0f} | {r.worst(delays) * 1000:.0f} "
                f"| {p50 / r.unary_seconds:.1f} |"
            )
    return "\n".join(lines)


def _webhooks_table(rows: list[tuple[str, webhooks.Result]]) -> str:
    lines = [
        "| store | measure | events per second | p50 ms | p99 ms | ratio to baseline |",
        "|---|---|---|---|---|---|",
    ]
    for store, r in rows:
        lines.append(
            f"| {store} | baseline: writes, no endpoint | {r.baseline.per_second:,.0f} | | | 1.00 |"
        )
        lines.append(
            f"| {store} | writes and delivery to {webhooks.ENDPOINTS} endpoints "
            f"({r.deliveries:,} deliveries) | {_fmt(r.with_endpoints, r.baseline)} |"
        )
    return "\n".join(lines)


def _compared(
    scale_rows: list[tuple[str, list[scale.Step]]],
    renewal_rows: list[tuple[str, renewals.Result]],
    stream_rows: list[tuple[str, streams.Result]],
) -> list[charts.Compared]:
    """Each speed target's measure: before the work on it, in this run, and the target."""
    compared = []
    for store, steps in scale_rows:
        step = next((s for s in steps if s.subscriptions == SUMMARY_SIZE), steps[-1])
        baseline = step.rates[scale.MEASURES[0]]
        for measure in ("CheckAccess, any user", "GetSubscription, any", "create → pay flow"):
            compared.append(
                charts.Compared(
                    f"{store}: {measure}",
                    charts.BEFORE.get((store, measure)),
                    step.rates[measure].ratio(baseline),
                    charts.target_of(store, measure),
                )
            )
    for store, sweep in renewal_rows:
        compared.append(
            charts.Compared(
                f"{store}: renewals/s",
                charts.BEFORE.get((store, "renewals/s")),
                sweep.per_second,
                charts.target_of(store, "renewals/s"),
            )
        )
    for store, run in stream_rows:
        compared.append(
            charts.Compared(
                f"{store}: delivery p99 ms",
                charts.BEFORE.get((store, "delivery p99 ms")),
                run.delivery.p99_ms,
                charts.target_of(store, "delivery p99 ms"),
                higher_is_better=False,
            )
        )
    return compared


def _figure(value: float | None) -> str:
    """Rates as whole numbers, ratios to three significant digits."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _targets_table(compared: list[charts.Compared]) -> str:
    lines = ["| measure | before | now | target | met |", "|---|---|---|---|---|"]
    for c in compared:
        met = c.now is not None and (c.now >= c.target if c.higher_is_better else c.now <= c.target)
        sign = "≥" if c.higher_is_better else "≤"
        lines.append(
            f"| {c.label} | {_figure(c.before)} | {_figure(c.now)} "
            f"| {sign} {_figure(c.target)} | {'yes' if met else 'no'} |"
        )
    return "\n".join(lines)


PINNING = (
    "The server and PostgreSQL run on core 0 and the bench's client on core 1 "
    "(`taskset`), in the summary and growth tables."
    if cores.can_pin()
    else "Client, server and PostgreSQL share the machine's cores (it has one)."
)


def main() -> int:
    started = time.perf_counter()
    # The growth to a million subscriptions goes last: PostgreSQL writes its
    # pages out and vacuums for a while after it, and a measure taken right
    # after would share the machine with that.
    statement_rows = _on_each_store(statements.run)
    renewal_rows = _on_each_store(lambda url, folder: _renewals_on(url))
    stream_rows = _on_each_store(lambda url, folder: streams.run(url, folder, STREAM_SECONDS))
    revocation_rows = _on_each_store(revocation.run)
    webhook_rows = _on_each_store(lambda url, folder: webhooks.run(url, folder, STREAM_SECONDS))
    scale_rows = _on_each_store(lambda url, folder: scale.run(url, folder, SIZES, SCALE_SECONDS))

    summary = _summary_table(scale_rows, renewal_rows, stream_rows)
    growth = _growth_table(scale_rows)
    renewal = _renewals_table(renewal_rows)
    stream = _streams_table(stream_rows)
    revoked = _revocation_table(revocation_rows)
    hooks = _webhooks_table(webhook_rows)
    counted = _statements_table(statement_rows)
    compared = _compared(scale_rows, renewal_rows, stream_rows)
    targets = _targets_table(compared)
    CHARTS.mkdir(exist_ok=True)
    charts.growth(scale_rows, CHARTS / "growth.png")
    charts.before_after(compared, CHARTS / "targets.png")
    for table in (summary, targets, counted, growth, renewal, stream, revoked, hooks):
        print(table, end="\n\n")
    minutes = (time.perf_counter() - started) / 60
    print(f"{minutes:.1f} minutes")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    (ROOT / "BENCHMARKS.md").write_text(
        f"""# Benchmarks

Measured by `make bench` on {datetime.now(UTC):%Y-%m-%d} ({machine}) in {minutes:.1f} minutes.
{PINNING} Every ratio is against a baseline measured on the same server (or
database) in the same run. "client CPU" is the bench process's CPU over a
measure, as a share of one core: near 1.00 the client, not the server, set
the rate.

## Summary at {SUMMARY_SIZE:,} subscriptions

{scale.CALLERS} concurrent callers on one grpc.aio client loop, against one
server process. The baseline is the standard health Check (no credentials, no
store); it and the reads take turns ({scale.ROUNDS} rounds of {SCALE_SECONDS / scale.ROUNDS:.0f} s),
so a slow spell of the machine weighs on all of them alike. CheckAccess
"any user" asks for a random one of all users, so nearly nothing is asked twice;
"one of {scale.HOT_USERS:,} users" is repeat traffic. A create → pay flow is
CreateSubscription then a succeeded CreatePayment of its first invoice, both
with an idempotency-key. The renewal sweep is one process
running the billing clock over {DUE:,} due subscriptions (a background rate: no
caller waits on one renewal, so it has no latency; see below for its own
baseline). Event delivery is timed from sending a write to each of
{streams.WATCHERS} watchers receiving its event, against the baseline of the
server holding the streams (below). Target for CheckAccess: 0.70 or
more of the baseline.

{summary}

## Speed targets

Each target of the speed work beside the figure measured before it began
(server and client on separate cores, ratios to the health Check of the same
run) and this run's; renewals and delivery are absolute on this machine
class. "n/a": not measured then.

{targets}

![Before, now and target of each measure](bench/charts/targets.png)

## Statements and commits per flow

What the server sent its database per flow, counted by the server itself
(`bento_store_statements` and `bento_store_commits`, BEGIN, SAVEPOINT and
COMMIT included), over {statements.FLOWS} flows one after another, less
what it sent on its own meanwhile. Counts, not times: they do not depend on
the machine.

{counted}

## Growth from {SIZES[0]:,} to {SIZES[-1]:,} subscriptions

The same store grown in place; a fresh server at each size. The last column is
the largest size's rate over the smallest's: 1.00 is flat.

{growth}

![Each measure's ratio to the baseline as the store grows](bench/charts/growth.png)

## Renewal sweep

One process runs the billing clock for {SECONDS:.0f} s with {DUE:,} subscriptions
due; the baseline is write transactions of one small row on the same database
in the same run, and the ratio is renewals per baseline write (a renewal writes
an invoice, its event and the subscription).

{renewal}

## Streams and unary calls

A server process with {streams.WATCHERS} WatchEvents streams; {streams.CALLERS}
concurrent callers on one grpc.aio client loop. Delivery latency runs from
sending a write to each watcher's receipt of its event (it includes the write's
own round trip).

{stream}

## Revocation reaching open streams

Two server processes on one database, {revocation.STREAMS // 2} WatchEvents
streams of one key open on each; the key is revoked through the first, and
each stream's end (UNAUTHENTICATED `api_key_revoked`) is timed from sending
RevokeApiKey, over {revocation.ROUNDS} rounds. The baseline is how long the
other server takes to refuse a unary call with a key revoked the same way.
The revoking server ends its streams itself; another server hears of it from
PostgreSQL's change announcement, or on SQLite (one server per database in
production) at its next look at its streams' keys, every 2 s. Target: about 2 s.

{revoked}

## Webhooks

One server with {webhooks.ENDPOINTS} endpoints on one HTTP receiver in the
bench process (127.0.0.1), each taking every `subscription.updated`. Writes go
{webhooks.WRITES_PER_SECOND} a second; the rate is writes over the time until
every endpoint had every event, and latency runs from sending a write to the
receiver reading its POST. The baseline is the same writes with no endpoint,
one after another.

{hooks}
"""
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
