"""Helpers the tests share: starting servers, calling them, reading errors."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cryptography.fernet import Fernet
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from bento.v1 import (
    catalog_pb2,
    catalog_pb2_grpc,
    common_pb2,
    enums_pb2,
    invoice_pb2_grpc,
    payment_pb2_grpc,
    settlement_pb2_grpc,
    subscription_pb2_grpc,
    tenant_pb2,
    tenant_pb2_grpc,
    test_clock_pb2_grpc,
)

BENTO = str(Path(sys.executable).parent / "bento")

# Set by `make test-long`: the crash, fuzz, race and load suites run in full.
LONG = os.environ.get("BENTO_TEST_LONG") == "1"


def scaled(short: int, long: int) -> int:
    """How many rounds a suite runs: ``short`` in `make test`, ``long`` in `make test-long`."""
    return long if LONG else short


STARTUP_TIMEOUT = 30.0


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs the `bento` command."""
    result = subprocess.run([BENTO, *args], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"bento {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def assert_audit_clean(database_url: str) -> None:
    """`bento audit` finds no broken money invariant in the store at ``database_url``."""
    result = run_cli("audit", "--database", database_url, check=False)
    assert result.returncode == 0, (
        f"bento audit found violations (exit {result.returncode}):\n{result.stdout}{result.stderr}"
    )


# The key that seals webhook secrets for every PostgreSQL server of one run.
TEST_SECRET_KEY = Fernet.generate_key().decode()

# Every credential and code the suite was handed, and every server log it
# made: after the whole suite, no log may hold any of them (conftest).
HANDED_OUT: set[str] = set()
SERVER_LOGS: list[Path] = []


def handed_out(secret: str) -> str:
    """Remembers a KEY_ID:SECRET credential or an activation code."""
    HANDED_OUT.add(secret)
    return secret


def secrets_in_logs() -> list[str]:
    """Each log line, of every server the suite ran, that holds a secret,
    a credential (also base64, as the header sends it) or a code."""
    forms: set[str] = set()
    for secret in HANDED_OUT:
        forms.add(secret)
        if ":" in secret:
            forms.add(secret.split(":", 1)[1])
            forms.add(basic(secret).split(" ", 1)[1])
    holds = _finder(forms)
    found = []
    for path in SERVER_LOGS:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if holds(line):
                found.append(f"{path.name}: {line[:300]}")
    return found


def _finder(forms: set[str]) -> Callable[[str], bool]:
    """Whether a line holds any of ``forms``, as ``any(form in line ...)``
    answers, in one pass over the line: each window of the shortest form's
    length is looked up among the forms' beginnings. A suite hands out
    about a thousand secrets and its servers log tens of thousands of
    lines; asking each form of each line took seconds."""
    if not forms:
        return lambda line: False
    width = min(len(form) for form in forms)
    by_start: dict[str, list[str]] = {}
    for form in forms:
        by_start.setdefault(form[:width], []).append(form)

    def holds(line: str) -> bool:
        for at in range(len(line) - width + 1):
            begun = by_start.get(line[at : at + width])
            if begun and any(line.startswith(form, at) for form in begun):
                return True
        return False

    return holds


def create_admin_key(database_url: str) -> str:
    """An admin credential KEY_ID:SECRET, made in this process by the use
    case `bento keys create` runs (tests/test_cli.py runs the command): a
    process of its own cost a second of start-up for every server the
    suite starts. The store is migrated first, as the command does."""
    from bento_server.clock import SystemClock
    from bento_server.store.database import connect
    from bento_server.store.migrations import migrate
    from bento_server.usecases import tenants
    from bento_server.usecases.context import ADMIN, Deps, Principal

    store = connect(database_url)
    try:
        migrate(store)
        deps = Deps(store=store, clock=SystemClock())
        issued = tenants.create_api_key(deps, Principal("tests", ADMIN, None), ADMIN, "", "")
    finally:
        store.close()
    return handed_out(f"{issued.row.id}:{issued.secret}")


def prepare_postgres(url: str) -> None:
    """Empties the test database so every run starts from nothing."""
    import peewee

    from bento_server.store.database import open_database

    db = open_database(url)
    assert isinstance(db, peewee.PostgresqlDatabase)
    db.connect()
    db.execute_sql("DROP SCHEMA IF EXISTS public CASCADE")
    db.execute_sql("CREATE SCHEMA public")
    db.close()


def _admin_connection(url: str):  # type: ignore[no-untyped-def]
    import peewee

    from bento_server.store.database import open_database

    db = open_database(url)
    assert isinstance(db, peewee.PostgresqlDatabase)
    db.connect()
    return db


def create_postgres_database(url: str, prefix: str = "bento_alone") -> str:
    """A new empty database beside the one at ``url``; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    db = _admin_connection(url)
    db.execute_sql(f"CREATE DATABASE {name}")
    db.close()
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def drop_postgres_database(url: str, doomed: str) -> None:
    """Drops the database at ``doomed``, ending its sessions.

    An autovacuum worker may be at work in it, and only a superuser (or a
    member of pg_signal_backend) may end one: a test role waits for it to
    finish instead.
    """
    import peewee

    db = _admin_connection(url)
    try:
        give_up = time.monotonic() + 60
        while True:
            try:
                db.execute_sql(f"DROP DATABASE IF EXISTS {doomed.rpartition('/')[2]} WITH (FORCE)")
                return
            except peewee.ProgrammingError as error:
                if "pg_signal_backend" not in str(error) or time.monotonic() > give_up:
                    raise
                time.sleep(0.5)
    finally:
        db.close()


@dataclass
class RunningServer:
    """A `bento serve` subprocess and what it takes to call it."""

    process: subprocess.Popen[str]
    address: str
    database_url: str
    admin_credential: str
    log_path: Path
    channels: list[grpc.Channel] = field(default_factory=list)

    def channel(self) -> grpc.Channel:
        channel = grpc.insecure_channel(self.address)
        self.channels.append(channel)
        return channel

    def caller(self, credential: str | None = None) -> Caller:
        return Caller(self.channel(), credential or self.admin_credential)

    def admin(self) -> Caller:
        return self.caller(self.admin_credential)

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        for channel in self.channels:
            channel.close()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


def free_port() -> int:
    """A port nothing listens on now (the OS's pick; closed again at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    database_url: str,
    workdir: Path,
    *,
    test_clock: bool = True,
    extra: tuple[str, ...] = (),
    env_without: tuple[str, ...] = (),
    prefix: tuple[str, ...] = (),
) -> RunningServer:
    """Starts `bento serve` on a free port and waits until it listens
    (``env_without``: variables the server must not see; ``prefix``: a
    command to run it under, such as ``taskset -c 0``)."""
    admin = create_admin_key(database_url)
    log_path = workdir / f"server-{uuid.uuid4().hex[:8]}.log"
    args = [*prefix, BENTO, "serve", "--address", "127.0.0.1:0", "--database", database_url, *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if database_url.startswith("postgresql"):
        # Replicas of one PostgreSQL database share the key that seals webhook
        # secrets; a SQLite server makes its own key file beside the database.
        env.setdefault("BENTO_SECRET_KEY", TEST_SECRET_KEY)
    for name in env_without:
        env.pop(name, None)
    if test_clock:
        args.append("--test-clock")
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            cwd=workdir,
            env=env,
        )
    SERVER_LOGS.append(log_path)
    address = _wait_for_address(process, log_path)
    # Keep draining stdout so the server never blocks on a full pipe.
    threading.Thread(target=process.stdout.read, daemon=True).start()  # type: ignore[union-attr]
    return RunningServer(process, address, database_url, admin, log_path)


def _wait_for_address(process: subprocess.Popen[str], log_path: Path) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("bento listening on "):
            return line.split()[-1]
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"server did not start:\n{log_path.read_text()}")


def basic(credential: str) -> str:
    return "Basic " + base64.b64encode(credential.encode()).decode()


class Caller:
    """Calls Bento as one credential: ``caller.tenant.CreatePlatform(request)``."""

    def __init__(self, channel: grpc.Channel, credential: str | None) -> None:
        self.channel = channel
        self.credential = credential
        self.tenant = tenant_pb2_grpc.TenantServiceStub(channel)
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        self.test_clock = test_clock_pb2_grpc.TestClockServiceStub(channel)
        self.subscriptions = subscription_pb2_grpc.SubscriptionServiceStub(channel)
        self.invoices = invoice_pb2_grpc.InvoiceServiceStub(channel)
        self.payments = payment_pb2_grpc.PaymentServiceStub(channel)
        self.settlement = settlement_pb2_grpc.SettlementServiceStub(channel)

    def metadata(self, idempotency_key: str | None = None) -> list[tuple[str, str]]:
        metadata = []
        if self.credential is not None:
            metadata.append(("authorization", basic(self.credential)))
        if idempotency_key is not None:
            metadata.append(("idempotency-key", idempotency_key))
        return metadata

    def __call__(
        self,
        method: Callable[..., Any],
        request: Any,
        *,
        key: str | None = None,
        timeout: float = 30,
    ) -> Any:
        """Calls ``method`` (a stub attribute) with this caller's metadata."""
        return method(request, metadata=self.metadata(key), timeout=timeout)


@dataclass(frozen=True)
class RpcFailure:
    code: grpc.StatusCode
    message: str
    reason: str
    domain: str
    fields: dict[str, str]
    metadata: dict[str, str] = field(default_factory=dict)


def status_of(error: grpc.RpcError) -> RpcFailure:
    """What a failed call's status said; ``reason``, ``domain`` and ``fields``
    stay empty when it has no ``google.rpc.Status`` (errors gRPC made itself)."""
    reason = domain = ""
    fields: dict[str, str] = {}
    metadata: dict[str, str] = {}
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields = {v.field: v.description for v in bad.field_violations}
    return RpcFailure(error.code(), error.details() or "", reason, domain, fields, metadata)  # type: ignore[attr-defined]


def failure(call: Callable[[], Any]) -> RpcFailure:
    """Runs ``call``, which must fail, and returns what its status said."""
    try:
        call()
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        assert status is not None, f"no rich status on {error.code()}: {error.details()}"
        return status_of(error)
    raise AssertionError("the call succeeded; it should have failed")


def assert_fails(
    call: Callable[[], Any],
    code: grpc.StatusCode,
    reason: str,
    field: str | None = None,
) -> RpcFailure:
    got = failure(call)
    assert (got.code, got.reason) == (code, reason), got
    assert got.domain == "bento", got
    if field is not None:
        assert field in got.fields, got
    return got


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --- building blocks --------------------------------------------------------


@dataclass
class Tenancy:
    """A platform and two apps with keys for each, fresh for one test."""

    admin: Caller
    platform_id: str
    platform: Caller
    app_id: str
    publisher: Caller
    other_app_id: str
    other_publisher: Caller
    other_platform_id: str
    other_platform: Caller


def make_key(admin: Caller, role: int, tenant_id: str = "") -> str:
    response = admin(
        admin.tenant.CreateApiKey, tenant_pb2.CreateApiKeyRequest(role=role, tenant_id=tenant_id)
    )
    return handed_out(f"{response.key_id}:{response.secret}")


def make_tenancy(server: RunningServer) -> Tenancy:
    admin = server.admin()

    def platform() -> tuple[str, Caller]:
        created = admin(
            admin.tenant.CreatePlatform,
            tenant_pb2.CreatePlatformRequest(name=unique("platform"), fee_rate=0.15),
        )
        platform_id = created.platform.platform_id
        return platform_id, server.caller(make_key(admin, enums_pb2.ROLE_PLATFORM, platform_id))

    def app() -> tuple[str, Caller]:
        created = admin(
            admin.tenant.CreateApp,
            tenant_pb2.CreateAppRequest(
                name=unique("app"),
                activation_url_template="https://app.example/activate?code={code}",
            ),
        )
        app_id = created.app.app_id
        return app_id, server.caller(make_key(admin, enums_pb2.ROLE_PUBLISHER, app_id))

    platform_id, platform_caller = platform()
    other_platform_id, other_platform_caller = platform()
    app_id, publisher = app()
    other_app_id, other_publisher = app()
    return Tenancy(
        admin,
        platform_id,
        platform_caller,
        app_id,
        publisher,
        other_app_id,
        other_publisher,
        other_platform_id,
        other_platform_caller,
    )


def apply_overrides(message: Any, overrides: dict[str, Any]) -> None:
    """Sets fields of ``message``: scalars, messages, repeated fields and maps."""
    for name, value in overrides.items():
        current = getattr(message, name)
        if isinstance(value, list):
            del current[:]
            current.extend(value)
        elif isinstance(value, dict):
            current.clear()
            for key, item in value.items():
                if hasattr(item, "CopyFrom"):
                    current[key].CopyFrom(item)
                else:
                    current[key] = item
        elif hasattr(value, "CopyFrom"):
            current.CopyFrom(value)
        else:
            setattr(message, name, value)


def usd(cents: int) -> common_pb2.Price:
    return common_pb2.Price(price_in_cents=cents, currency_code="USD", tier_id=str(cents))


def product_request(app_id: str = "", **overrides: Any) -> catalog_pb2.CreateProductRequest:
    product = catalog_pb2.Product(
        app_id=app_id,
        name=unique("product"),
        internal_id="basic_tier1",
        description="With ads",
        product_type="streaming",
        features=[
            common_pb2.Feature(code="hd", name="HD", kind=enums_pb2.FEATURE_KIND_ACCESS),
            common_pb2.Feature(
                code="downloads",
                name="Downloads",
                kind=enums_pb2.FEATURE_KIND_QUOTA,
                limit=10,
                reset_interval=enums_pb2.RESET_INTERVAL_MONTH,
            ),
        ],
        prices={"US": usd(999)},
        price_wholesale=usd(456),
        localizations={"en-us": common_pb2.Localization(display_name="Basic", description="Ads")},
    )
    apply_overrides(product, overrides)
    return catalog_pb2.CreateProductRequest(product=product)


def phases(*spec: tuple[int, int | None]) -> catalog_pb2.RegionPrices:
    """Price phases from (price_in_cents, billing_cycles or None) pairs."""
    result = catalog_pb2.RegionPrices()
    for order, (cents, cycles) in enumerate(spec, start=1):
        phase = result.phases.add(order=order, price=usd(cents))
        if cycles is not None:
            phase.billing_cycles = cycles
    return result


def plan_request(
    product_ids: list[str], platform_id: str = "", **overrides: Any
) -> catalog_pb2.CreatePlanRequest:
    plan = catalog_pb2.Plan(
        platform_id=platform_id,
        name=unique("plan"),
        plan_type=enums_pb2.PLAN_TYPE_BUNDLE,
        billing_frequency=common_pb2.BillingFrequency(unit=enums_pb2.BILLING_UNIT_MONTH, value=1),
        free_trial_days=0,
        grace_period_days=7,
        prices={"US": phases((999, 3), (1699, None))},
        localizations={"en-us": common_pb2.Localization(display_name="Bundle", description="All")},
        product_ids=product_ids,
        tier=1,
    )
    apply_overrides(plan, overrides)
    return catalog_pb2.CreatePlanRequest(plan=plan)


def refuse_events(store: Any, event_type: str, subscription_id: str = "") -> None:
    """A trigger that makes the store refuse events of ``event_type`` (of
    one subscription, if given) from now on; dropped with ``DROP TRIGGER
    refuse_event`` (``ON event`` on PostgreSQL)."""
    of = f" AND NEW.subscription_id = '{subscription_id}'" if subscription_id else ""
    if store.is_postgres:
        store.db.execute_sql(
            "CREATE FUNCTION refuse_event() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.type = '{event_type}'{of} THEN RAISE EXCEPTION 'refused'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        store.db.execute_sql(
            "CREATE TRIGGER refuse_event BEFORE INSERT ON event "
            "FOR EACH ROW EXECUTE FUNCTION refuse_event()"
        )
    else:
        store.db.execute_sql(
            "CREATE TRIGGER refuse_event BEFORE INSERT ON event "
            f"WHEN NEW.type = '{event_type}'{of} BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
