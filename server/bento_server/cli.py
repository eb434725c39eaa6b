"""The `bento` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, get_args

from bento_server import log_hygiene
from bento_server.clock import SystemClock
from bento_server.config import DEFAULT_ADDRESS, AccessLog, ServerConfig
from bento_server.infra import scheduler
from bento_server.server import serve
from bento_server.store.database import DEFAULT_URL, Store, connect
from bento_server.store.migrations import migrate
from bento_server.usecases.context import ADMIN, PLATFORM, PUBLISHER, ROLES, Deps

if TYPE_CHECKING:
    from bento_server.usecases.statements import Period


def _database_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=os.environ.get("BENTO_DATABASE_URL", DEFAULT_URL),
        help="database URL (default: $BENTO_DATABASE_URL or %(default)s)",
    )


def _open(url: str) -> Store:
    store = connect(url)
    migrate(store)
    return store


def _serve(args: argparse.Namespace) -> int:
    config = ServerConfig(
        address=args.address,
        database_url=args.database,
        test_clock=args.test_clock,
        workers=args.workers,
        scheduler_interval=args.scheduler_interval,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        event_retention_days=args.event_retention_days,
        max_streams_per_caller=args.max_streams_per_caller,
        heartbeat_interval=args.heartbeat_interval,
        metrics_address=args.metrics_address,
        access_log=args.access_log,
        webhooks_allow_private=args.webhooks_allow_private,
    )
    asyncio.run(serve(config))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    store = connect(args.database)
    before, after = migrate(store)
    print(
        f"schema at version {after}" + (f" (was {before})" if before != after else " (up to date)")
    )
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    from bento_server.usecases import tenants
    from bento_server.usecases.context import Principal

    store = _open(args.database)
    deps = Deps(store=store, clock=SystemClock())
    issued = tenants.create_api_key(
        deps, Principal("cli", ADMIN, None), args.role, args.tenant or "", args.description
    )
    print(
        f"created {args.role} key {issued.row.id}" + (f" for {args.tenant}" if args.tenant else "")
    )
    print(f"{issued.row.id}:{issued.secret}")
    return 0


def _tick(args: argparse.Namespace) -> int:
    store = _open(args.database)
    done = scheduler.run_due(Deps(store=store, clock=SystemClock()))
    print(f"ran {done} pieces of due work")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from bento_server import audit

    store = audit.open_read_only(args.database)
    found: Counter[str] = Counter()
    try:
        with audit.snapshot(store) as scope:
            for violation in audit.violations(store, scope):
                print(violation)
                found[violation.kind] += 1
    finally:
        store.close()
    print(audit.summary(scope, found))
    return 1 if found else 0


def _month(text: str) -> Period:
    from bento_server.statements_report import parse_month

    try:
        return parse_month(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _statements(args: argparse.Namespace) -> int:
    from bento_server import statements_report

    found = statements_report.collect(args.database, args.month, args.tenant or "")
    if args.format == "json":
        statements_report.write_json(found, sys.stdout)
    else:
        statements_report.write_csv(found, sys.stdout)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bento_server.demo import load_demo

    store = _open(args.database)
    for line in load_demo(Deps(store=store, clock=SystemClock())):
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bento", description="Bento subscription orchestration.")
    parser.add_argument("--log-level", default=os.environ.get("BENTO_LOG_LEVEL", "INFO"))
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="run the gRPC server and the billing clock")
    serve_parser.add_argument(
        "--address",
        default=os.environ.get("BENTO_ADDRESS", DEFAULT_ADDRESS),
        help="host:port (default: $BENTO_ADDRESS or %(default)s)",
    )
    _database_arg(serve_parser)
    serve_parser.add_argument(
        "--test-clock", action="store_true", help="run on a clock moved only by TestClockService"
    )
    serve_parser.add_argument("--workers", type=int, default=8, help="store threads (default 8)")
    serve_parser.add_argument(
        "--scheduler-interval", type=float, default=5.0, help="seconds between billing sweeps"
    )
    serve_parser.add_argument("--tls-cert", help="PEM certificate chain; enables TLS")
    serve_parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    serve_parser.add_argument(
        "--event-retention-days", type=float, default=0.0, help="prune older events (0: keep all)"
    )
    serve_parser.add_argument(
        "--max-streams-per-caller", type=int, default=32, help="open WatchEvents streams per key"
    )
    serve_parser.add_argument(
        "--heartbeat-interval", type=float, default=10.0, help="seconds between stream heartbeats"
    )
    serve_parser.add_argument(
        "--metrics-address", help="host:port for Prometheus metrics at /metrics (off by default)"
    )
    serve_parser.add_argument(
        "--access-log",
        choices=get_args(AccessLog),
        default="all",
        help="a log line for every RPC (default), only for failed ones, or none",
    )
    serve_parser.add_argument(
        "--webhooks-allow-private",
        action="store_true",
        help="let webhooks go to http:// and to private or loopback addresses (development)",
    )
    serve_parser.set_defaults(run=_serve)

    migrate_parser = commands.add_parser("migrate", help="bring the schema up to date")
    _database_arg(migrate_parser)
    migrate_parser.set_defaults(run=_migrate)

    keys_parser = commands.add_parser("keys", help="manage API keys")
    keys_commands = keys_parser.add_subparsers(dest="keys_command", required=True)
    create_parser = keys_commands.add_parser(
        "create", help="create a key; prints KEY_ID:SECRET last"
    )
    create_parser.add_argument("--role", required=True, choices=ROLES)
    create_parser.add_argument(
        "--tenant", help=f"platform ID for {PLATFORM}, app ID for {PUBLISHER}"
    )
    create_parser.add_argument("--description", default="", help="a note to tell keys apart")
    _database_arg(create_parser)
    create_parser.set_defaults(run=_keys_create)

    tick_parser = commands.add_parser("tick", help="run the billing work that is due, once")
    _database_arg(tick_parser)
    tick_parser.set_defaults(run=_tick)

    audit_parser = commands.add_parser(
        "audit",
        help="check the money invariants of the whole store, read only; exit 1 on a violation",
    )
    _database_arg(audit_parser)
    audit_parser.set_defaults(run=_audit)

    statements_parser = commands.add_parser(
        "statements",
        help="print a month's statements (as GetStatement answers them), read only",
    )
    statements_parser.add_argument(
        "--month", required=True, type=_month, help="the calendar month in UTC, YYYY-MM"
    )
    statements_parser.add_argument(
        "--tenant", help="one platform (PL...) or app (AP...); default: every one with allocations"
    )
    statements_parser.add_argument(
        "--format", choices=("csv", "json"), default="csv", help="default: %(default)s"
    )
    _database_arg(statements_parser)
    statements_parser.set_defaults(run=_statements)

    demo_parser = commands.add_parser("demo", help="load a demo catalog and print keys to try it")
    _database_arg(demo_parser)
    demo_parser.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    log_hygiene.install()
    try:
        code = args.run(args)
    except ValueError as error:
        # Bad URLs and the like: say what is wrong, without a traceback.
        print(f"bento: {error}", file=sys.stderr)
        code = 2
    except Exception as error:  # a BentoError from the CLI's own use cases
        from bento_server.errors import BentoError

        if not isinstance(error, BentoError):
            raise
        print(f"bento: {error.message}", file=sys.stderr)
        code = 2
    sys.exit(code)
