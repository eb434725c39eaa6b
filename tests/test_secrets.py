"""Secrets and codes are never stored or logged in plain text.

One server with every log it has turned up (`--access-log all`, debug
logging, metrics) is driven through every flow that handles an API key's
secret or an activation code: keys made (also under an idempotency key, and
replayed), calls authenticated with them, bad and revoked credentials,
codes issued by a paid first invoice (by payment and by invoice update, also
replayed), by a trial, by regeneration, and exchanged. Then its log, its
stdout, its metrics and everything in its database (the SQLite file's raw
bytes with -wal and -shm; every column of every PostgreSQL table) are
searched for each secret and code in every form a client sends or sees. What
is stored instead is the SHA-256 hash, and the test finds it there, so the
searches look in the right place.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import psycopg2
import pytest

from bento.v1 import (
    activation_pb2,
    activation_pb2_grpc,
    catalog_pb2,
    enums_pb2,
    invoice_pb2,
    tenant_pb2,
)
from tests.billing_support import pay, subscribe
from tests.helpers.metrics import scrape
from tests.support import (
    BENTO,
    Caller,
    RunningServer,
    assert_fails,
    basic,
    create_admin_key,
    free_port,
    make_tenancy,
    plan_request,
    product_request,
    unique,
)
from tests.test_activation import code_of, make_bundle, session_created

E = enums_pb2
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


# --- a server with every log on -------------------------------------------------------


@dataclass
class LoudServer:
    """A `bento serve` with debug logging, the access log and metrics, whose
    stdout is kept rather than thrown away."""

    running: RunningServer
    metrics_port: int
    stdout: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def metrics(self) -> str:
        return scrape(self.metrics_port)

    def stop(self) -> None:
        process = self.running.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        if self.reader is not None:
            self.reader.join(10)
        assert self.running.stop() == 0


def start_loud_server(database_url: str, workdir: Path) -> LoudServer:
    admin = create_admin_key(database_url)
    log_path = workdir / f"server-{uuid.uuid4().hex[:8]}.log"
    port = free_port()
    args = [
        BENTO, "--log-level", "DEBUG", "serve", "--address", "127.0.0.1:0",
        "--database", database_url, "--test-clock", "--access-log", "all",
        "--metrics-address", f"127.0.0.1:{port}",
    ]  # fmt: skip
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            cwd=workdir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    assert process.stdout is not None
    lines: list[str] = []
    address = ""
    for line in process.stdout:
        lines.append(line)
        if line.startswith("bento listening on "):
            address = line.split()[-1]
            break
    if not address:
        process.kill()
        raise AssertionError(f"server did not start:\n{log_path.read_text()}")
    running = RunningServer(process, address, database_url, admin, log_path)
    loud = LoudServer(running, port, lines)
    stream = process.stdout
    loud.reader = threading.Thread(target=lambda: lines.extend(stream), daemon=True)
    loud.reader.start()
    return loud


@pytest.fixture
def loud(fresh_backend_url: str, tmp_path: Path) -> Iterator[LoudServer]:
    server = start_loud_server(fresh_backend_url, tmp_path)
    try:
        yield server
    finally:
        server.stop()


# --- what the database holds ----------------------------------------------------------


def sqlite_bytes(database_url: str) -> bytes:
    path = Path(database_url.removeprefix("sqlite:///"))
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return b"\n".join(p.read_bytes() for p in files if p.exists())


def postgres_dump(database_url: str) -> bytes:
    """Every value of every column of every table, as bytes."""
    chunks: list[bytes] = []
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        tables = [row[0] for row in cursor.fetchall()]
        assert "api_key" in tables and "activation_item" in tables, tables
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode())
    connection.close()
    return b"\n".join(chunks)


def stored(database_url: str) -> bytes:
    if database_url.startswith("sqlite"):
        return sqlite_bytes(database_url)
    return postgres_dump(database_url)


# --- what is secret ---------------------------------------------------------------------


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Secrets:
    """Everything secret the flows handled, and what may be stored of it."""

    credentials: list[str] = field(default_factory=list)  # KEY_ID:SECRET
    wrong: list[str] = field(default_factory=list)  # secrets sent that match nothing
    headers: list[str] = field(default_factory=list)  # authorization values sent
    codes: list[str] = field(default_factory=list)  # every code issued
    live_codes: list[str] = field(default_factory=list)  # codes whose hash is current
    key_ids: list[str] = field(default_factory=list)

    def key(self, credential: str) -> str:
        self.credentials.append(credential)
        self.key_ids.append(credential.split(":", 1)[0])
        return credential

    def forms(self) -> dict[str, str]:
        """Each form a secret travels in -> what it is (for the message)."""
        found: dict[str, str] = {}
        for credential in self.credentials:
            secret = credential.split(":", 1)[1]
            found[secret] = f"secret of {credential.split(':')[0]}"
            found[credential] = "credential"
            # The authorization header's value, with and without the scheme.
            found[basic(credential).split(" ", 1)[1]] = "base64 credential"
        for secret in self.wrong:
            found[secret] = "a wrong secret sent"
        for header in self.headers:
            found[header] = "an authorization header sent"
            found[header.split(" ", 1)[1]] = "an authorization header's credential"
        for code in self.codes:
            found[code] = "activation code"
            found[code.replace("_", "")] = "activation code without separators"
        return found


def assert_absent(haystack: str | bytes, secrets: Secrets, where: str) -> None:
    text = haystack if isinstance(haystack, bytes) else haystack.encode()
    lower = text.lower()
    for form, what in secrets.forms().items():
        # Case changes (an upper-cased log, say) must not hide it either.
        if form.lower().encode() in lower:
            at = lower.index(form.lower().encode())
            context = text[max(at - 80, 0) : at + len(form) + 80]
            pytest.fail(f"{what} {form!r} is in {where}: ...{context!r}...")


# --- the flows ----------------------------------------------------------------------------


def activation_stub(caller: Caller) -> activation_pb2_grpc.ActivationServiceStub:
    return activation_pb2_grpc.ActivationServiceStub(caller.channel)


GRPCURL = str(Path(sys.executable).parent / "grpcurl")


def send_malformed(server: RunningServer, credential: str) -> None:
    """A live credential sent in every malformed form, as raw bytes: grpcio's
    own client refuses to send most of them, grpcurl sends what it is given.
    Each must be UNAUTHENTICATED, and none may put the credential in a log
    (grpcio itself logged a header that is not UTF-8, whole, at ERROR)."""
    good = basic(credential).encode()
    forms = [
        good + b"\xff",  # one stray byte after a valid credential
        good[:20] + b"\xc3\xa9" + good[20:],  # a character outside ASCII inside it
        good + b"\x01",  # a control character
        good[:-1] + b"\x7f",
        b"Basic " + good.split(b" ", 1)[1] * 8,  # over-long
    ]
    for value in forms:
        done = subprocess.run(
            [GRPCURL.encode(), b"-plaintext", b"-H", b"authorization: " + value,
             server.address.encode(), b"bento.v1.TenantService/ListApps"],
            capture_output=True, timeout=60,
        )  # fmt: skip
        assert done.returncode != 0, value
        assert b"Unauthenticated" in done.stderr, (value, done.stderr)
    # Two credentials at once, each valid alone: refused, not the first one taken.
    two = subprocess.run(
        [GRPCURL, "-plaintext", "-H", f"authorization: {basic(credential)}",
         "-H", f"authorization: {basic(credential)}", server.address,
         "bento.v1.TenantService/ListApps"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert two.returncode != 0 and "Unauthenticated" in two.stderr, two.stderr


def drive_keys(server: RunningServer, secrets: Secrets) -> None:
    """Keys made plainly and under idempotency keys (replayed), used, revoked."""
    secrets.key(server.admin_credential)
    t = make_tenancy(server)  # four keys made plainly
    for caller in (t.platform, t.publisher, t.other_platform, t.other_publisher):
        assert caller.credential is not None
        secrets.key(caller.credential)
    admin = t.admin
    product_id = t.publisher(
        t.publisher.catalog.CreateProduct, product_request()
    ).product.product_id
    for role, tenant in (
        (E.ROLE_PLATFORM, t.platform_id),
        (E.ROLE_PUBLISHER, t.app_id),
        (E.ROLE_ADMIN, ""),
    ):
        request = tenant_pb2.CreateApiKeyRequest(role=role, tenant_id=tenant, description="ci")
        key = unique("key")
        first = admin(admin.tenant.CreateApiKey, request, key=key)
        assert first.secret and first.key_id == first.api_key.key_id
        credential = secrets.key(f"{first.key_id}:{first.secret}")
        # A replay names the same key and makes no other; the secret is shown once.
        replay = admin(admin.tenant.CreateApiKey, request, key=key)
        assert replay.key_id == first.key_id and replay.api_key == first.api_key
        assert replay.secret == ""
        # The key works, with an idempotency key of its own too.
        user = server.caller(credential)
        if role == E.ROLE_PLATFORM:
            user(user.catalog.CreatePlan, plan_request([product_id]), key=unique("plan"))
        elif role == E.ROLE_PUBLISHER:
            user(user.catalog.CreateProduct, product_request(), key=unique("product"))
        else:
            user(user.tenant.ListApiKeys, tenant_pb2.ListApiKeysRequest(page_size=100))
    listed = admin(
        admin.tenant.ListApiKeys,
        tenant_pb2.ListApiKeysRequest(tenant_id=t.platform_id, include_revoked=True),
    )
    assert len(listed.api_keys) == 2  # make_tenancy's and the idempotent one: no duplicate
    for credential in secrets.credentials:
        assert credential.split(":", 1)[1] not in str(listed)

    # Every key works as itself.
    for credential in secrets.credentials:
        user = server.caller(credential)
        user(user.catalog.ListProducts, catalog_pb2.ListProductsRequest())

    # Wrong secrets, unknown keys, malformed headers, a revoked key.
    stranger = Caller(server.channel(), None)
    wrong = f"wrong-{uuid.uuid4().hex}"
    secrets.wrong.append(wrong)
    secrets.headers.extend(
        [
            basic(f"{secrets.key_ids[1]}:{wrong}"),  # a real key, a wrong secret
            basic(f"AK0000000000000000001:{wrong}"),  # no such key
            f"Bearer {wrong}",
            f"Basic {wrong}",
        ]
    )
    for authorization in secrets.headers:
        assert_fails(
            lambda: stranger.tenant.ListApps(
                tenant_pb2.ListAppsRequest(),
                metadata=[("authorization", authorization)],
                timeout=10,
            ),
            UNAUTHENTICATED,
            "unauthenticated",
        )
    send_malformed(server, secrets.credentials[1])
    revoked = secrets.credentials[-1]
    admin(admin.tenant.RevokeApiKey, tenant_pb2.RevokeApiKeyRequest(key_id=revoked.split(":")[0]))
    gone = server.caller(revoked)
    assert_fails(
        lambda: gone(gone.tenant.ListApps, tenant_pb2.ListAppsRequest()),
        UNAUTHENTICATED,
        "api_key_revoked",
    )


def drive_codes(server: RunningServer, secrets: Secrets) -> None:
    """Codes issued every way there is, replayed, exchanged and regenerated."""
    b = make_bundle(server)
    t, p = b.tenancy, b.platform

    def issued(urls: list) -> dict[str, str]:  # type: ignore[type-arg]
        codes = {u.app_id: code_of(b, u) for u in urls}
        secrets.codes.extend(codes.values())
        return codes

    # A payment that pays the first invoice, under an idempotency key, replayed.
    created = subscribe(p, b.plan_id)
    sub_id, invoice = created.subscription.subscription_id, created.invoice
    key = unique("pay")
    paid = pay(p, sub_id, invoice.invoice_id, invoice.amounts.total_amount, key=key)
    by_payment = issued(list(paid.activation_urls))
    assert len(by_payment) == 2
    replay = pay(p, sub_id, invoice.invoice_id, invoice.amounts.total_amount, key=key)
    assert replay.payment == paid.payment and list(replay.activation_urls) == []

    # An invoice marked paid, under an idempotency key, replayed.
    created = subscribe(p, b.plan_id)
    request = invoice_pb2.UpdateInvoiceRequest(
        subscription_id=created.subscription.subscription_id,
        invoice_id=created.invoice.invoice_id,
        payment_status=E.PAYMENT_STATUS_PAID,
    )
    key = unique("invoice")
    updated = p(p.invoices.UpdateInvoice, request, key=key)
    by_invoice = issued(list(updated.activation_urls))
    assert len(by_invoice) == 2
    again = p(p.invoices.UpdateInvoice, request, key=key)
    assert again.invoice == updated.invoice and list(again.activation_urls) == []
    secrets.live_codes.extend(by_invoice.values())

    # A trial hands its codes out at once.
    trial_plan = p(
        p.catalog.CreatePlan,
        plan_request([b.products[a].product_id for a in b.apps], free_trial_days=7),
    ).plan.plan_id
    trial = subscribe(p, trial_plan, key=unique("trial"))
    secrets.live_codes.extend(issued(list(trial.activation_urls)).values())

    # Exchanging, under an idempotency key and replayed; a spent code again.
    session_id = session_created(p, sub_id).activation_session_id
    exchange = activation_pb2.ExchangeActivationCodeRequest(activation_code=by_payment[t.app_id])
    key = unique("exchange")
    first = t.publisher(activation_stub(t.publisher).ExchangeActivationCode, exchange, key=key)
    assert first.activation_session_id == session_id
    repeat = t.publisher(activation_stub(t.publisher).ExchangeActivationCode, exchange, key=key)
    assert repeat == first
    assert_fails(
        lambda: t.publisher(activation_stub(t.publisher).ExchangeActivationCode, exchange),
        grpc.StatusCode.FAILED_PRECONDITION,
        "activation_code_already_used",
    )
    # Another app's code is not this publisher's business.
    foreign = activation_pb2.ExchangeActivationCodeRequest(
        activation_code=by_payment[t.other_app_id]
    )
    assert_fails(
        lambda: t.publisher(activation_stub(t.publisher).ExchangeActivationCode, foreign),
        grpc.StatusCode.NOT_FOUND,
        "activation_code_not_found",
    )
    secrets.live_codes.append(by_payment[t.app_id])  # exchanged: its hash stays

    # Regenerating replaces the other app's code; the replay shows no code.
    regenerate = activation_pb2.RegenerateActivationCodesRequest(
        activation_session_id=session_id, app_ids=[t.other_app_id], force=True
    )
    key = unique("regenerate")
    fresh = p(activation_stub(p).RegenerateActivationCodes, regenerate, key=key)
    new_codes = issued(list(fresh.activation_urls))
    assert list(new_codes) == [t.other_app_id]
    replayed = p(activation_stub(p).RegenerateActivationCodes, regenerate, key=key)
    assert replayed.regenerated_count == 1 and list(replayed.activation_urls) == []
    secrets.live_codes.extend(new_codes.values())
    # The replaced code is dead: exchanging it is NOT_FOUND.
    replaced = activation_pb2.ExchangeActivationCodeRequest(
        activation_code=by_payment[t.other_app_id]
    )
    assert_fails(
        lambda: t.other_publisher(
            activation_stub(t.other_publisher).ExchangeActivationCode, replaced
        ),
        grpc.StatusCode.NOT_FOUND,
        "activation_code_not_found",
    )
    assert len(set(secrets.codes)) == len(secrets.codes) == 7


# --- the test -------------------------------------------------------------------------


def test_no_secret_or_code_is_stored_or_logged_in_plain_text(loud: LoudServer) -> None:
    server = loud.running
    secrets = Secrets()
    drive_keys(server, secrets)
    drive_codes(server, secrets)
    metrics = loud.metrics()
    database = stored(server.database_url)
    loud.stop()  # the last lines are flushed and the WAL is as it stays
    log = server.log()
    stdout = "".join(loud.stdout)

    # The searches look where the secrets went through.
    assert "bento listening on" in stdout and "bento stopped" in stdout
    assert " DEBUG peewee " in log, "debug logging was not on"
    for key_id in secrets.key_ids[:-1]:  # the last one was revoked before any use
        assert f"caller={key_id}" in log, key_id
    assert "code=UNAUTHENTICATED" in log
    assert "ExchangeActivationCode" in metrics
    after_stop = stored(server.database_url)

    for haystack, where in (
        (log, "the server's log"),
        (stdout, "the server's stdout"),
        (metrics, "the metrics"),
        (database, "the database"),
        (after_stop, "the database after shutdown"),
    ):
        assert_absent(haystack, secrets, where)

    # What is stored is the hash: of every key's secret, of every current code.
    for credential in secrets.credentials:
        digest = sha256(credential.split(":", 1)[1]).encode()
        assert digest in database, credential.split(":")[0]
    for code in secrets.live_codes:
        assert sha256(code).encode() in database, code


def test_the_search_of_every_log_finds_each_form_anywhere_on_a_line() -> None:
    """The search the suite ends with (``support.secrets_in_logs``) finds a
    secret at the start, the middle or the end of a line, the shortest
    form as well as the longest, and nothing on a line that holds only
    part of one."""
    from tests.support import _finder

    key = "AK0915140519825634052:Zm9vYmFyYmF6cXV4cXV1eHF1dXhx"
    code = "AC_7KQ2_M9XD"
    holds = _finder({key, key.split(":", 1)[1], code})
    assert holds(key)
    assert holds(f"caller=x secret={key.split(':', 1)[1]} ok")
    assert holds(f"code {code}")
    assert holds(f"{code}.")
    assert not holds(f"code {code[:-1]} and {key[:-1]}X")
    assert not holds("")
    assert not _finder(set())(key)
