"""`make bench`: runs the benchmarks, prints a table, writes BENCHMARKS.md.

PostgreSQL runs need BENTO_BENCH_POSTGRES_URL (or BENTO_TEST_POSTGRES_URL):
an empty database is created beside it for each run and dropped after.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench import access, renewals, streams
from bento_server.store.database import connect
from bento_server.store.migrations import migrate

ROOT = Path(__file__).resolve().parent.parent
DUE = int(os.environ.get("BENTO_BENCH_SUBSCRIPTIONS", "100000"))
SECONDS = float(os.environ.get("BENTO_BENCH_SECONDS", "20"))
STREAM_SECONDS = float(os.environ.get("BENTO_BENCH_STREAM_SECONDS", "10"))


def _postgres_url() -> str | None:
    return os.environ.get("BENTO_BENCH_POSTGRES_URL") or os.environ.get("BENTO_TEST_POSTGRES_URL")


def _fresh_postgres(url: str) -> tuple[str, str]:
    from bento_server.store.database import open_database

    name = f"bento_bench_{uuid.uuid4().hex[:10]}"
    admin = open_database(url)
    admin.connect()
    admin.execute_sql(f"CREATE DATABASE {name}")
    admin.close()
    return f"{url.rpartition('/')[0]}/{name}", name


def _drop_postgres(url: str, name: str) -> None:
    from bento_server.store.database import open_database

    admin = open_database(url)
    admin.connect()
    admin.execute_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


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
            url, name = _fresh_postgres(pg)
            try:
                results.append(("PostgreSQL", measure(url, Path(folder))))
            finally:
                _drop_postgres(pg, name)
        else:
            print("PostgreSQL skipped: set BENTO_BENCH_POSTGRES_URL", file=sys.stderr)
    return results


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
            lines.append(
                f"| {store} | {label} | {rate.per_second:,.0f} | {rate.p50_ms:.1f} | {rate.p99_ms:.1f} "
                f"| {rate.per_second / r.baseline.per_second:.2f} |"
            )
    return "\n".join(lines)


def _access_table(rows: list[tuple[str, tuple[streams.Rate, streams.Rate, streams.Rate]]]) -> str:
    lines = [
        "| store | call | per second | p50 ms | p99 ms | ratio to baseline |",
        "|---|---|---|---|---|---|",
    ]
    for store, (noop, check, hot) in rows:
        for label, rate in (
            ("baseline: health Check", noop),
            ("CheckAccess, any of all users", check),
            (f"CheckAccess, any of {access.HOT_USERS:,} users", hot),
        ):
            lines.append(
                f"| {store} | {label} | {rate.per_second:,.0f} | {rate.p50_ms:.2f} | {rate.p99_ms:.2f} "
                f"| {rate.per_second / noop.per_second:.2f} |"
            )
    return "\n".join(lines)


def main() -> int:
    rows: list[tuple[str, renewals.Result]] = _on_each_store(lambda url, folder: _renewals_on(url))
    stream_rows = _on_each_store(lambda url, folder: streams.run(url, folder, STREAM_SECONDS))
    access_rows = _on_each_store(lambda url, folder: access.run(url, folder, DUE, STREAM_SECONDS))

    header = "| store | due subscriptions | renewed | renewals/s | baseline writes/s | ratio |"
    lines = [header, "|---|---|---|---|---|---|"]
    for store, result in rows:
        lines.append(
            f"| {store} | {result.due:,} | {result.renewed:,} | {result.per_second:,.0f} "
            f"| {result.baseline_per_second:,.0f} | {result.per_second / result.baseline_per_second:.2f} |"
        )
    table = "\n".join(lines)
    print(table)
    stream_table = _streams_table(stream_rows)
    print()
    print(stream_table)
    access_table = _access_table(access_rows)
    print()
    print(access_table)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    (ROOT / "BENCHMARKS.md").write_text(
        "# Benchmarks\n\n"
        f"Measured by `make bench` on {datetime.now(UTC):%Y-%m-%d} ({machine}).\n\n"
        "## Renewal sweep\n\n"
        f"One process runs the billing clock for {SECONDS:.0f} s with {DUE:,} subscriptions due; "
        "the baseline is write transactions of one small row on the same database in the same run, "
        "and the ratio is renewals per baseline write (a renewal writes an invoice, its event and "
        "the subscription).\n\n" + table + "\n\n"
        "## Streams and unary calls\n\n"
        f"A server process with {streams.WATCHERS} WatchEvents streams; {streams.CALLERS} concurrent "
        "callers on one grpc.aio client loop. Delivery latency runs from sending a write to each "
        "watcher's receipt of its event (it includes the write's own round trip). The baseline is "
        "the health Check on the same server in the same run.\n\n" + stream_table + "\n\n"
        "## CheckAccess\n\n"
        f"{access.CALLERS} concurrent callers, {DUE:,} subscriptions in the store, each call for a "
        f"random one of all users, then of {access.HOT_USERS:,} users; beside the health Check (no "
        "credentials, no store) on the same server in the same run. Target: CheckAccess at 0.70 or "
        "more of the baseline. On PostgreSQL a server remembers answers until a change is announced "
        "(LISTEN/NOTIFY), which repeat users benefit from.\n\n" + access_table + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
