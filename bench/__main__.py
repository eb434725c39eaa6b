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

from bench import renewals
from bento_server.store.database import connect
from bento_server.store.migrations import migrate

ROOT = Path(__file__).resolve().parent.parent
DUE = int(os.environ.get("BENTO_BENCH_SUBSCRIPTIONS", "100000"))
SECONDS = float(os.environ.get("BENTO_BENCH_SECONDS", "20"))


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


def main() -> int:
    rows: list[tuple[str, renewals.Result]] = []
    with tempfile.TemporaryDirectory() as folder:
        rows.append(("SQLite", _renewals_on(f"sqlite:///{folder}/bench.db")))
    pg = _postgres_url()
    if pg:
        url, name = _fresh_postgres(pg)
        try:
            rows.append(("PostgreSQL", _renewals_on(url)))
        finally:
            _drop_postgres(pg, name)
    else:
        print("PostgreSQL skipped: set BENTO_BENCH_POSTGRES_URL", file=sys.stderr)

    header = "| store | due subscriptions | renewed | renewals/s | baseline writes/s | ratio |"
    lines = [header, "|---|---|---|---|---|---|"]
    for store, result in rows:
        lines.append(
            f"| {store} | {result.due:,} | {result.renewed:,} | {result.per_second:,.0f} "
            f"| {result.baseline_per_second:,.0f} | {result.per_second / result.baseline_per_second:.2f} |"
        )
    table = "\n".join(lines)
    print(table)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    (ROOT / "BENCHMARKS.md").write_text(
        "# Benchmarks\n\n"
        f"Measured by `make bench` on {datetime.now(UTC):%Y-%m-%d} ({machine}).\n\n"
        "## Renewal sweep\n\n"
        f"One process runs the billing clock for {SECONDS:.0f} s with {DUE:,} subscriptions due; "
        "the baseline is write transactions of one small row on the same database in the same run, "
        "and the ratio is renewals per baseline write (a renewal writes an invoice, its event and "
        "the subscription).\n\n" + table + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
