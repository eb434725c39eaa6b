"""Bad input at scale: random and malformed requests to every RPC.

The fuzzer is built from the descriptors (``tests/fuzz/``), so it
covers every method of every ``bento.v1`` service by itself. It sends random
field values (extremes, unknown enum numbers, huge strings and lists, broken
timestamps, deep structs, IDs of real objects mixed in), raw bytes that are
not the request, bad credentials, bad idempotency keys and bad page tokens,
to one fresh server per backend. Whatever it sends, the server answers a
clean status (never INTERNAL or UNKNOWN, every error with its reason), keeps
serving, logs no stack, and its data stays consistent.

`make test` sends about 1,600 calls per backend; `make test-long` about
13,500.
"""

from __future__ import annotations

import base64
import copy
import functools
import itertools
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bento.v1 import (
    activation_pb2,
    catalog_pb2,
    common_pb2,
    entitlement_pb2,
    enums_pb2,
    event_pb2,
    invoice_pb2,
    payment_pb2,
    settlement_pb2,
    subscription_pb2,
    tenant_pb2,
    test_clock_pb2,
    webhook_pb2,
    webhook_pb2_grpc,
)
from bento_server.usecases import paging
from tests import fuzz as fz
from tests.billing_support import Shop, advance, make_shop, pay, subscribe
from tests.consistency import assert_consistent
from tests.helpers.paging import every, pages
from tests.support import (
    RunningServer,
    basic,
    create_postgres_database,
    drop_postgres_database,
    make_key,
    plan_request,
    product_request,
    scaled,
    start_server,
    unique,
)

RPCS = fz.rpcs()
UNARY = [rpc for rpc in RPCS if not rpc.server_streaming and not rpc.client_streaming]
STREAMING = [rpc for rpc in RPCS if rpc.server_streaming and not rpc.client_streaming]
LISTS = [rpc for rpc in UNARY if "page_token" in rpc.input.fields_by_name]
# The services every server also runs, open to anyone: health and reflection.
OPEN = fz.rpcs_of(health_pb2) + fz.rpcs_of(reflection_pb2)

OK = grpc.StatusCode.OK
INVALID = grpc.StatusCode.INVALID_ARGUMENT
# Random input is slow to make and big; the examples are the point.
FUZZ = settings(
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
CALLERS = ["admin", "platform", "publisher", "other_platform", "other_publisher"]
WHO = st.sampled_from(["admin", "admin", "admin", "platform", "platform", "publisher", "publisher"])
WHO_ANY = st.sampled_from(CALLERS)
STREAM_SECONDS = 0.3


@dataclass(repr=False)
class Target:
    """A fresh server, the keys that call it, and what the fuzzer learned."""

    def __repr__(self) -> str:
        return f"Target({self.server.database_url})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis shows it with every failing example

    server: RunningServer
    channel: grpc.Channel
    pool: fz.Pool
    credentials: dict[str, str]
    revoked: str
    shop: Shop
    codes: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Per RPC, how random requests came back: whether the fuzzing reached
    # past validation into the use cases.
    fuzzed: dict[str, Counter[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: dict[str, list[str]] = field(default_factory=dict)
    list_bases: dict[str, Message] = field(default_factory=dict)

    def authorization(self, who: str) -> str:
        return basic(self.credentials[who])

    def record(self, rpc: fz.Rpc, outcome: fz.Outcome, request: Message | bytes) -> None:
        with self.lock:
            self.codes[(str(rpc), outcome.code.name)] += 1
            response = outcome.response
            if response is None:
                return
            self.pool.harvest(response)
            if isinstance(request, Message):
                self.pool.keep(request)  # a template for later requests
            token = getattr(response, "next_page_token", "")
            if token:
                self.tokens.setdefault(rpc.path, []).append(token)

    def unary(
        self, rpc: fz.Rpc, request: Message | bytes, who: str = "admin", key: str | None = None
    ) -> fz.Outcome:
        outcome = fz.call_unary(
            self.channel, rpc, request, fz.metadata(self.authorization(who), key)
        )
        self.record(rpc, outcome, request)
        return outcome

    def fuzz(self, rpc: fz.Rpc, request: Message, who: str, key: str | None = None) -> fz.Outcome:
        """A random call: answered cleanly, and counted."""
        outcome = self.unary(rpc, request, who, key)
        with self.lock:
            self.fuzzed.setdefault(str(rpc), Counter())[outcome.code.name] += 1
        self.check(outcome, fz.describe(rpc, request, who, key))
        return outcome

    def check(self, outcome: fz.Outcome, call: fz.Call) -> None:
        """``fz.assert_clean``, showing the server's last stack if it failed."""
        try:
            fz.assert_clean(outcome, call)
        except AssertionError as error:
            log = self.server.log()
            at = log.rfind("Traceback")
            stack = log[max(at - 400, 0) : at + 5000] if at >= 0 else "(no stack in the log)"
            raise AssertionError(f"{error}\n--- the server's log ---\n{stack}") from None

    def tokens_not_of(self, rpc: fz.Rpc) -> list[str]:
        return [t for path, tokens in self.tokens.items() if path != rpc.path for t in tokens]


def shows_failures(test: Callable[..., None]) -> Callable[..., None]:
    """Prints an assertion as soon as it fails. Hypothesis then replays the
    example to shrink it, but the server has changed since, so what it
    reports in the end may be a flaky replay rather than the failure."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            test(*args, **kwargs)
        except AssertionError as error:
            print(f"--- a fuzz failure, as first seen ---\n{error}", flush=True)
            raise

    return run


def _fresh_database(backend_url: str, folder: Path) -> str:
    if backend_url.startswith("sqlite"):
        return f"sqlite:///{folder / 'fuzz.db'}"
    return create_postgres_database(backend_url)


@pytest.fixture(scope="module")
def target(backend_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One fresh server per backend for the whole fuzz run (random mutations
    must not disturb the server other suites share): the conftest's
    ``fresh_backend_url`` made once per module rather than once per test."""
    folder = tmp_path_factory.mktemp("fuzz")
    url = _fresh_database(backend_url, folder)
    # Private addresses allowed: the seeded endpoints are on 127.0.0.1, and a
    # random https URL the fuzzer makes is then refused nothing, but never
    # reached either (nothing listens there).
    server = start_server(url, folder, test_clock=True, extra=("--webhooks-allow-private",))
    try:
        yield _seed(server)
    finally:
        server.stop()
        if not url.startswith("sqlite"):
            drop_postgres_database(backend_url, url)


def _seed(server: RunningServer) -> Target:
    """Real objects for random requests to name: platforms, apps, products,
    plans, subscriptions, invoices, payments, activation sessions."""
    shop = make_shop(server)
    t = shop.tenancy
    credentials = {
        "admin": server.admin_credential,
        "platform": t.platform.credential,
        "publisher": t.publisher.credential,
        "other_platform": t.other_platform.credential,
        "other_publisher": t.other_publisher.credential,
    }
    pool = fz.Pool(protected={c.partition(":")[0] for c in credentials.values() if c})
    # Endpoints before the events, so that the events make deliveries to list;
    # nothing listens on port 9 of 127.0.0.1, so every attempt fails and stays.
    hooks = webhook_pb2_grpc.WebhookServiceStub(shop.admin.channel)
    endpoints = [
        hooks.CreateWebhookEndpoint(
            webhook_pb2.CreateWebhookEndpointRequest(
                url=f"http://127.0.0.1:9/hook-{n}", tenant_id=t.platform_id
            ),
            metadata=shop.admin.metadata(),
            timeout=30,
        )
        for n in range(2)
    ]
    paid = subscribe(t.platform, shop.plan_id)
    sub_id, invoice = paid.subscription.subscription_id, paid.invoice
    amount = invoice.amounts.total_amount
    unpaid = subscribe(t.platform, shop.plan_id)
    answers: list[Message] = [
        *endpoints,
        paid,
        pay(t.platform, sub_id, invoice.invoice_id, amount, enums_pb2.PAYMENT_RECORD_STATUS_FAILED),
        pay(t.platform, sub_id, invoice.invoice_id, amount),
        # A part given back: the paid invoice has two allocations to page through.
        pay(t.platform, sub_id, invoice.invoice_id, -100, refund_reason="seeded refund"),
        unpaid,
        subscribe(t.platform, shop.plan(free_trial_days=7)),
        t.publisher(t.publisher.catalog.CreateProduct, product_request(t.app_id, internal_id="x2")),
    ]
    revoked = make_key(shop.admin, enums_pb2.ROLE_PLATFORM, t.platform_id)
    shop.admin(
        shop.admin.tenant.RevokeApiKey,
        tenant_pb2.RevokeApiKeyRequest(key_id=revoked.partition(":")[0]),
    )
    for answer in answers:
        pool.harvest(answer)
    target = Target(server, server.channel(), pool, credentials, revoked, shop)
    _seed_templates(target, paid, unpaid)
    advance(shop.admin, 40 * 86_400)  # a renewal: a second invoice
    # Allocations are listed by period, by default the last calendar month:
    # the seeded platform's from a year back to thirty years on instead.
    target.list_bases[rpc_named("SettlementService.ListAllocations").path] = (
        settlement_pb2.ListAllocationsRequest(
            tenant_id=t.platform_id,
            period_start=timestamp_pb2.Timestamp(seconds=fz.NOW - 400 * 86_400),
            period_end=timestamp_pb2.Timestamp(seconds=fz.NOW + 30 * 366 * 86_400),
        )
    )
    # What the lists hold now, for IDs of every kind.
    for rpc in LISTS:
        target.unary(rpc, _list_base(target, rpc))
    # Every RPC once with its IDs set to the first (seeded) object of their
    # kind: what goes through is a template for the fuzzer.
    for rpc in UNARY:
        target.unary(rpc, _with_first_ids(target, rpc))
    return target


def _with_first_ids(target: Target, rpc: fz.Rpc, *, ids_only: bool = False) -> Message:
    """A request with its text fields (or only its IDs) set to the first
    value seen under their name: the seeded objects."""
    request = rpc.request_class()
    for f in rpc.input.fields:
        known = target.pool.candidates(f.name)
        wanted = f.name.endswith("_id") or (not ids_only and f.name != "page_token")
        if f.type == f.TYPE_STRING and known and not f.is_repeated and wanted:
            setattr(request, f.name, known[0])
    return request


def rpc_named(name: str) -> fz.Rpc:
    return next(rpc for rpc in RPCS if str(rpc) == name)


def _seed_templates(
    target: Target,
    paid: subscription_pb2.CreateSubscriptionResponse,
    unpaid: subscription_pb2.CreateSubscriptionResponse,
) -> None:
    """A valid request of each kind that changes something, for the fuzzer
    to start from and change a little: random requests alone rarely get
    past validation."""
    shop, t = target.shop, target.shop.tenancy
    session_id = paid.subscription.session_id
    sub_id = paid.subscription.subscription_id
    feature = common_pb2.Feature(code="extra", name="Extra", kind=enums_pb2.FEATURE_KIND_ACCESS)
    plan = plan_request([shop.product_id], t.platform_id).plan
    product = product_request(t.app_id).product
    seeds: list[tuple[str, Message, str]] = [
        (
            "TenantService.CreatePlatform",
            tenant_pb2.CreatePlatformRequest(name="P", fee_rate=0.1),
            "admin",
        ),
        (
            "TenantService.CreateApp",
            tenant_pb2.CreateAppRequest(
                name="A", activation_url_template="https://app.example/a?code={code}"
            ),
            "admin",
        ),
        (
            "TenantService.CreateApiKey",
            tenant_pb2.CreateApiKeyRequest(role=enums_pb2.ROLE_PLATFORM, tenant_id=t.platform_id),
            "admin",
        ),
        (
            "CatalogService.CreateProduct",
            catalog_pb2.CreateProductRequest(product=product),
            "admin",
        ),
        ("CatalogService.CreatePlan", catalog_pb2.CreatePlanRequest(plan=plan), "admin"),
        (
            "CatalogService.UpdatePlan",
            catalog_pb2.UpdatePlanRequest(
                plan=catalog_pb2.Plan(plan_id=shop.plan_id, name="Renamed"),
                update_mask=field_mask_pb2.FieldMask(paths=["name"]),
            ),
            "platform",
        ),
        (
            "CatalogService.UpdateProduct",
            catalog_pb2.UpdateProductRequest(
                product=catalog_pb2.Product(product_id=shop.product_id, name="Renamed"),
                update_mask=field_mask_pb2.FieldMask(paths=["name"]),
            ),
            "publisher",
        ),
        (
            "SubscriptionService.CreateSubscription",
            subscription_pb2.CreateSubscriptionRequest(session_id="s-1", plan_id=shop.plan_id),
            "platform",
        ),
        (
            "SubscriptionService.UpdateSubscription",
            subscription_pb2.UpdateSubscriptionRequest(
                subscription_id=unpaid.subscription.subscription_id, payment_method_id="pm_1"
            ),
            "platform",
        ),
        (
            "SubscriptionService.SetSubscriptionFeature",
            subscription_pb2.SetSubscriptionFeatureRequest(subscription_id=sub_id, feature=feature),
            "platform",
        ),
        (
            "EntitlementService.RecordUsage",
            entitlement_pb2.RecordUsageRequest(
                subscription_id=sub_id, feature_code="downloads", quantity=1
            ),
            "platform",
        ),
        (
            "EntitlementService.CheckAccess",
            entitlement_pb2.CheckAccessRequest(session_id=session_id, feature_code="hd"),
            "platform",
        ),
        (
            "PaymentService.CreatePayment",
            payment_pb2.CreatePaymentRequest(
                subscription_id=unpaid.subscription.subscription_id,
                invoice_id=unpaid.invoice.invoice_id,
                amount=1,
                status=enums_pb2.PAYMENT_RECORD_STATUS_FAILED,
            ),
            "platform",
        ),
        ("TestClockService.AdvanceTime", test_clock_pb2.AdvanceTimeRequest(seconds=60), "admin"),
    ]
    for name, request, who in seeds:
        outcome = target.unary(rpc_named(name), request, who)
        assert outcome.code == OK, (name, outcome.failure)
    _seed_activation(target, sub_id)


def _seed_activation(target: Target, sub_id: str) -> None:
    """New codes for a paid subscription, one exchanged, its item activated."""
    events = target.unary(
        rpc_named("EventService.ListEvents"),
        event_pb2.ListEventsRequest(subscription_id=sub_id, types=["activation.session.created"]),
    ).response
    assert isinstance(events, event_pb2.ListEventsResponse) and events.events
    session_id = events.events[0].activation_session_id
    regenerated = target.unary(
        rpc_named("ActivationService.RegenerateActivationCodes"),
        activation_pb2.RegenerateActivationCodesRequest(
            activation_session_id=session_id, regenerate_all=True, force=True
        ),
        "platform",
    )
    assert regenerated.code == OK, regenerated.failure
    assert isinstance(regenerated.response, activation_pb2.RegenerateActivationCodesResponse)
    url = regenerated.response.activation_urls[0]
    code = parse_qs(urlparse(url.activation_url).query)["code"][0]
    for name, request in [
        (
            "ActivationService.ExchangeActivationCode",
            activation_pb2.ExchangeActivationCodeRequest(activation_code=code),
        ),
        (
            "ActivationService.UpdateActivationItem",
            activation_pb2.UpdateActivationItemRequest(
                activation_session_id=session_id,
                item_id=url.app_id,
                status=enums_pb2.ACTIVATION_ITEM_STATUS_ACTIVATED,
                user_id="user-1",
            ),
        ),
    ]:
        outcome = target.unary(rpc_named(name), request, "publisher")
        assert outcome.code == OK, (name, outcome.failure)


def _list_base(target: Target, rpc: fz.Rpc) -> Message:
    """A request of this list that the admin may make: empty, or with the
    filters it requires set to the first (seeded) object of their kind."""
    if rpc.path in target.list_bases:
        return target.list_bases[rpc.path]
    request = rpc.request_class()
    outcome = target.unary(rpc, request)
    if outcome.code != OK:
        request = _with_first_ids(target, rpc, ids_only=True)
        outcome = target.unary(rpc, request)
    assert outcome.code == OK, f"no request of {rpc} succeeds: {outcome.failure}"
    target.list_bases[rpc.path] = request
    return request


def _check_replay(
    target: Target, rpc: fz.Rpc, request: Message, who: str, key: str, first: fz.Outcome
) -> None:
    """A repeated call with the same idempotency key gives the first answer,
    but for the secrets only the first answer holds (activation codes, an
    API key's secret: Bento never stores them)."""
    again = target.unary(rpc, request, who, key)
    context = fz.describe(rpc, request, who, key)
    assert again.code == OK, f"the replay failed: {again.failure}\n{context}"
    first_answer, replayed = copy.deepcopy(first.response), again.response
    assert first_answer is not None and replayed is not None
    for secret in ("activation_urls", "secret"):
        if secret in first_answer.DESCRIPTOR.fields_by_name:
            first_answer.ClearField(secret)  # type: ignore[arg-type]
    assert replayed == first_answer, f"the replay answered otherwise\n{context}"


# --- the list of RPCs -------------------------------------------------------------


def test_the_fuzzer_covers_every_rpc_of_the_protos() -> None:
    """The fuzzer's methods, from the generated descriptors, are exactly the
    RPCs the .proto files declare: a new RPC cannot go unfuzzed."""
    declared = set()
    for proto in (Path(__file__).parent.parent / "protos" / "bento" / "v1").glob("*.proto"):
        text = proto.read_text()
        package = re.search(r"^package\s+([\w.]+);", text, re.M)
        assert package is not None
        for service, body in re.findall(r"^service\s+(\w+)\s*\{(.*?)^\}", text, re.M | re.S):
            for method in re.findall(r"^\s*rpc\s+(\w+)\s*\(", body, re.M):
                declared.add(f"/{package.group(1)}.{service}/{method}")
    assert {rpc.path for rpc in RPCS} == declared
    assert len(RPCS) == len(declared)
    # Every method is fuzzed by one of the tests below.
    assert set(UNARY) | set(STREAMING) == set(RPCS)
    assert {str(rpc) for rpc in STREAMING} >= {"EventService.WatchEvents"}
    assert {str(rpc) for rpc in LISTS} >= {"EventService.ListEvents", "TenantService.ListApiKeys"}


def test_the_fuzzer_knows_every_service_the_server_serves(target: Target) -> None:
    """What the running server lists by reflection: the fuzzer's services,
    and the open ones."""
    stub = reflection_pb2_grpc.ServerReflectionStub(target.channel)
    answers = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
    )
    served = {s.name for answer in answers for s in answer.list_services_response.service}
    assert served == {rpc.service for rpc in RPCS + OPEN}


# --- paging with good tokens ---------------------------------------------------------


@pytest.mark.parametrize("rpc", LISTS, ids=str)
def test_every_list_pages_through_with_its_own_tokens(target: Target, rpc: fz.Rpc) -> None:
    """One item a page: the tokens a list gives out take the next call to the
    next page, nothing twice, the same items as one big page."""
    base = _list_base(target, rpc)
    items_field = next(f.name for f in rpc.output.fields if f.is_repeated)
    paged: list[bytes] = []

    def call(request: Message) -> Message:
        outcome = target.unary(rpc, request)
        assert outcome.code == OK, (outcome.failure, fz.describe(rpc, request, "admin", None))
        assert outcome.response is not None
        return outcome.response

    first = copy.deepcopy(base)
    first.page_size = 1  # type: ignore[attr-defined]
    for response in itertools.islice(pages(call, first), 8):
        items = getattr(response, items_field)
        assert len(items) <= 1
        paged.extend(item.SerializeToString(deterministic=True) for item in items)
    assert len(paged) >= 2, f"{rpc} has too little to page through"
    assert len(set(paged)) == len(paged), "an item came twice"
    whole = copy.deepcopy(base)
    whole.page_size = 100  # type: ignore[attr-defined]
    outcome = target.unary(rpc, whole)
    assert outcome.response is not None
    everything = [
        item.SerializeToString(deterministic=True)
        for item in getattr(outcome.response, items_field)
    ]
    assert everything[: len(paged)] == paged


# --- random requests ------------------------------------------------------------------


@pytest.mark.parametrize("rpc", UNARY, ids=str)
@settings(FUZZ, max_examples=scaled(12, 120))
@given(data=st.data())
@shows_failures
def test_random_requests_get_clean_answers(
    target: Target, rpc: fz.Rpc, data: st.DataObject
) -> None:
    """Random values in every field, as any caller of either tenant, with or
    without an idempotency key: a clean answer, and a replay of a call that
    went through gives the same answer."""
    request = data.draw(fz.requests(rpc, target.pool), label="request")
    who = data.draw(WHO_ANY if data.draw(st.booleans()) else WHO, label="caller")
    key = data.draw(fz.idempotency_keys(), label="idempotency-key")
    outcome = target.fuzz(rpc, request, who, key)
    if key is not None and outcome.code == OK:
        _check_replay(target, rpc, request, who, key, outcome)


@settings(FUZZ, max_examples=scaled(6, 60))
@given(data=st.data())
@shows_failures
def test_concurrent_random_requests_get_clean_answers(target: Target, data: st.DataObject) -> None:
    """Up to sixteen random calls at once, to any RPC: contention may answer
    ABORTED or UNAVAILABLE, but cleanly."""
    calls = data.draw(
        st.lists(
            st.sampled_from(UNARY).flatmap(
                lambda rpc: st.tuples(st.just(rpc), fz.requests(rpc, target.pool), WHO)
            ),
            min_size=8,
            max_size=16,
        ),
        label="calls",
    )
    with ThreadPoolExecutor(len(calls)) as pool:
        list(pool.map(lambda c: target.fuzz(*c), calls))


@pytest.mark.parametrize("rpc", STREAMING, ids=str)
@settings(FUZZ, max_examples=scaled(12, 120))
@given(data=st.data())
@shows_failures
def test_streams_with_random_requests_end_cleanly(
    target: Target, rpc: fz.Rpc, data: st.DataObject
) -> None:
    """A stream opened with a random request ends with a clean error, or runs
    until our own deadline or cancel, every message a valid answer."""
    request = data.draw(fz.requests(rpc, target.pool), label="request")
    who = data.draw(WHO_ANY, label="caller")
    most = data.draw(st.sampled_from([1, 5, 200]), label="cancel after")
    outcome = fz.call_stream(
        target.channel, rpc, request, fz.metadata(target.authorization(who)), STREAM_SECONDS, most
    )
    target.codes[(str(rpc), outcome.code.name)] += 1
    context = fz.describe(rpc, request, who, None)
    if outcome.code != grpc.StatusCode.DEADLINE_EXCEEDED:  # ours: the stream was still open
        target.check(outcome, context)


# --- raw bytes ---------------------------------------------------------------------------


@pytest.mark.parametrize("rpc", RPCS, ids=str)
@settings(FUZZ, max_examples=scaled(10, 100))
@given(data=st.data())
@shows_failures
def test_bytes_that_are_not_the_request_are_invalid_argument(
    target: Target, rpc: fz.Rpc, data: st.DataObject
) -> None:
    """Random bytes, truncated or corrupted requests, fields under the wrong
    wire type, bad UTF-8, structs nested too deep: what does not decode is
    INVALID_ARGUMENT (gRPC alone would answer UNKNOWN); what happens to
    decode gets a clean answer."""
    raw = data.draw(fz.raw_requests(rpc, target.pool), label="bytes")
    authorization = target.authorization("admin")
    if rpc.server_streaming:
        outcome = fz.call_stream(
            target.channel, rpc, raw, fz.metadata(authorization), STREAM_SECONDS, 1
        )
    else:
        outcome = fz.call_unary(target.channel, rpc, raw, fz.metadata(authorization))
    target.codes[(str(rpc), outcome.code.name)] += 1
    context = fz.describe(rpc, raw, "admin", None)
    if not fz.decodes(rpc, raw):
        got = outcome.failure
        assert got is not None, f"undecodable bytes went through\n{context}"
        assert (got.code, got.reason, got.domain) == (INVALID, "invalid_argument", "bento"), (
            f"{got}\n{context}"
        )
        assert got.message.startswith("the request does not decode"), got
    elif outcome.code != grpc.StatusCode.DEADLINE_EXCEEDED or not rpc.server_streaming:
        target.check(outcome, context)


@pytest.mark.parametrize("rpc", OPEN, ids=str)
@settings(FUZZ, max_examples=scaled(8, 80))
@given(data=st.data())
@shows_failures
def test_open_methods_answer_bytes_that_do_not_decode_with_invalid_argument(
    target: Target, rpc: fz.Rpc, data: st.DataObject
) -> None:
    """Health and reflection need no credentials and are gRPC's own
    servicers, but their requests are decoded by the interceptor too: what
    does not decode is INVALID_ARGUMENT (gRPC alone: UNKNOWN, and a stack in
    the log), what does gets the servicer's answer."""
    raw = data.draw(fz.raw_requests(rpc, target.pool), label="bytes")
    if rpc.client_streaming:
        method = target.channel.stream_stream(rpc.path, None, None)
        call = method(iter([raw]), timeout=STREAM_SECONDS)
        try:
            answers = [rpc.response_class.FromString(answer) for answer in call]
            outcome = fz.Outcome(OK, responses=answers)
        except grpc.RpcError as error:
            outcome = fz.failed(error)
    elif rpc.server_streaming:
        outcome = fz.call_stream(target.channel, rpc, raw, [], STREAM_SECONDS, 1)
    else:
        outcome = fz.call_unary(target.channel, rpc, raw, [])
    context = fz.describe(rpc, raw, "nobody", None)
    if not fz.decodes(rpc, raw):
        got = outcome.failure
        assert got is not None, f"undecodable bytes went through\n{context}"
        assert (got.code, got.reason) == (INVALID, "invalid_argument"), f"{got}\n{context}"
    else:
        # Health answers NOT_FOUND for a service it does not know, and
        # UNIMPLEMENTED for List, which gRPC's servicer lacks; a watch or a
        # reflection stream runs until our deadline.
        expected = (
            OK,
            grpc.StatusCode.NOT_FOUND,
            grpc.StatusCode.UNIMPLEMENTED,
            grpc.StatusCode.DEADLINE_EXCEEDED,
        )
        assert outcome.code in expected, f"{outcome.failure}\n{context}"


def test_an_error_that_echoes_a_huge_request_still_arrives_whole(target: Target) -> None:
    """Errors travel in trailers, which gRPC clients cap at 8 KiB: an error
    quoting fifty unknown 200-character event types, or naming thousands of
    bad fields, is cut to fit rather than lost to RESOURCE_EXHAUSTED."""
    unknown = event_pb2.ListEventsRequest(types=[f"{n:03d}" + "é" * 197 for n in range(50)])
    outcome = target.unary(rpc_named("EventService.ListEvents"), unknown)
    got = outcome.failure
    assert got is not None
    assert (got.code, got.reason, got.domain) == (INVALID, "invalid_argument", "bento"), got
    assert "types" in got.fields and got.message.endswith("…"), got

    features = [common_pb2.Feature(code="x" * 10_000 + str(n)) for n in range(3)] * 40
    product = product_request(target.shop.tenancy.app_id, features=features).product
    outcome = target.unary(
        rpc_named("CatalogService.CreateProduct"), catalog_pb2.CreateProductRequest(product=product)
    )
    got = outcome.failure
    assert got is not None
    assert (got.code, got.reason, got.domain) == (INVALID, "invalid_argument", "bento"), got
    assert got.fields and "more bad fields not listed" in got.message, got


def test_nan_or_infinity_in_a_free_form_object_is_invalid_argument(target: Target) -> None:
    """JSON has no NaN: a metadata number that is not finite names its field."""
    for number in (float("nan"), float("inf"), float("-inf")):
        product = product_request(target.shop.tenancy.app_id).product
        product.metadata.update({"ok": 1, "bad": [number]})
        outcome = target.unary(
            rpc_named("CatalogService.CreateProduct"),
            catalog_pb2.CreateProductRequest(product=product),
        )
        got = outcome.failure
        assert got is not None
        assert (got.code, got.reason) == (INVALID, "invalid_argument"), got
        assert list(got.fields) == ["product.metadata"], got


def test_a_struct_nested_too_deep_is_invalid_argument(target: Target) -> None:
    """The decoder stops at 100 nested messages; a deeper metadata object is
    refused as undecodable, on every RPC with a Struct field."""
    tried = 0
    for rpc in UNARY:
        raw = fz.nested_too_deep(rpc, 120)
        if raw is None:
            continue
        tried += 1
        assert not fz.decodes(rpc, raw)
        outcome = fz.call_unary(
            target.channel, rpc, raw, fz.metadata(target.authorization("admin"))
        )
        assert outcome.failure is not None
        assert (outcome.code, outcome.failure.reason) == (INVALID, "invalid_argument"), rpc
    assert tried >= 3


def test_an_unknown_method_is_unimplemented(target: Target) -> None:
    for path in ("/bento.v1.TenantService/Nope", "/bento.v1.Nope/Nope", "/x/y"):
        method = target.channel.unary_unary(
            path, request_serializer=None, response_deserializer=None
        )
        with pytest.raises(grpc.RpcError) as raised:
            method(b"", metadata=fz.metadata(target.authorization("admin")), timeout=10)
        assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED  # type: ignore[attr-defined]


# --- credentials and metadata --------------------------------------------------------------


@settings(FUZZ, max_examples=scaled(100, 800))
@given(data=st.data())
@shows_failures
def test_bad_credentials_are_unauthenticated_on_every_rpc(
    target: Target, data: st.DataObject
) -> None:
    """Missing, malformed, unknown, wrong-secret and revoked credentials on
    any RPC, with any request (even undecodable bytes): UNAUTHENTICATED,
    before anything else is looked at."""
    rpc = data.draw(st.sampled_from(RPCS), label="rpc")
    authorization = data.draw(
        fz.bad_authorizations(target.credentials["platform"], target.revoked),
        label="authorization",
    )
    request = data.draw(
        st.one_of(fz.requests(rpc, target.pool), fz.raw_requests(rpc, target.pool)),
        label="request",
    )
    key = data.draw(fz.idempotency_keys(), label="idempotency-key")
    md = fz.metadata(authorization, key)
    if rpc.server_streaming:
        outcome = fz.call_stream(target.channel, rpc, request, md, 5.0, 1)
    else:
        outcome = fz.call_unary(target.channel, rpc, request, md)
    got = outcome.failure
    context = fz.describe(rpc, request, f"authorization={authorization!r:.200}", key)
    assert got is not None, f"let in\n{context}"
    reason = "api_key_revoked" if authorization == basic(target.revoked) else "unauthenticated"
    assert (got.code, got.reason, got.domain) == (
        grpc.StatusCode.UNAUTHENTICATED,
        reason,
        "bento",
    ), f"{got}\n{context}"


def _rpc_lines(server: RunningServer, rpc: fz.Rpc) -> int:
    return server.log().count(f" bento.rpc rpc method={rpc.path} ")


def test_metadata_grpc_cannot_carry_never_reaches_the_server(target: Target) -> None:
    """gRPC metadata values are printable ASCII. A value with other
    characters (non-ASCII idempotency keys, control characters in
    credentials) is refused by the caller's own gRPC library, which answers
    INTERNAL "Invalid metadata" locally: no server sees the call, so none of
    our code can answer otherwise. What is true here: the status is the
    library's (no ErrorInfo) and the server logged no call."""
    rpc = rpc_named("TenantService.CreatePlatform")
    request = tenant_pb2.CreatePlatformRequest(name=unique("never"))
    good = target.authorization("admin")
    before = _rpc_lines(target.server, rpc)
    for md in (
        [("authorization", "Basic é")],
        [("authorization", good + "\x01")],
        [("authorization", good), ("idempotency-key", "ключ")],
        [("authorization", good), ("idempotency-key", "💥")],
        [("authorization", good), ("idempotency-key", "a\nb")],
    ):
        outcome = fz.call_unary(target.channel, rpc, request, md)
        assert outcome.failure is not None
        assert (outcome.code, outcome.failure.message) == (
            grpc.StatusCode.INTERNAL,
            "Invalid metadata",
        ), md
        assert outcome.failure.domain == "", "the server answered"
    # A call that does get through is logged, so the count would have moved.
    assert target.unary(rpc, request).code == OK
    assert _rpc_lines(target.server, rpc) == before + 1


# --- page tokens -------------------------------------------------------------------------


@pytest.mark.parametrize("rpc", LISTS, ids=str)
@settings(FUZZ, max_examples=scaled(12, 120))
@given(data=st.data())
@shows_failures
def test_bad_page_tokens_are_invalid_argument(
    target: Target, rpc: fz.Rpc, data: st.DataObject
) -> None:
    """Random text, base64 junk, forged JSON, too long, tokens of other lists
    or with one character changed: INVALID_ARGUMENT naming page_token."""
    request = copy.deepcopy(_list_base(target, rpc))
    token = data.draw(fz.bad_page_tokens(target.tokens_not_of(rpc)), label="page_token")
    request.page_token = token  # type: ignore[attr-defined]
    request.page_size = data.draw(st.integers(0, 100), label="page_size")  # type: ignore[attr-defined]
    outcome = target.unary(rpc, request)
    got = outcome.failure
    context = fz.describe(rpc, request, "admin", None)
    assert got is not None, f"a bad token was served\n{context}"
    assert (got.code, got.reason) == (INVALID, "invalid_page_token"), f"{got}\n{context}"
    assert "page_token" in got.fields, got


def _token_payload(token: str) -> tuple[dict[str, object], bytes]:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    body, _, checksum = raw.rpartition(b".")
    return json.loads(body), checksum


def _forged(token: str, key: object) -> str:
    """``token`` with another key, under a checksum that holds (the checksum
    guards against corruption, not forgery)."""
    payload, _ = _token_payload(token)
    body = json.dumps({**payload, "k": key}, separators=(",", ":")).encode()
    raw = body + b"." + paging._checksum(body).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "name", ["TenantService.ListPlatforms", "EventService.ListEvents", "TenantService.ListApiKeys"]
)
def test_a_forged_page_token_holding_no_key_of_the_list_is_invalid_argument(
    target: Target, name: str
) -> None:
    """A token forged from a real one (same list, same filters, a checksum
    that holds) but with a key the list never gives out: NUL characters
    (PostgreSQL refuses them), numbers past 64 bits (SQLite cannot hold
    them), other types. INVALID_ARGUMENT, never INTERNAL."""
    rpc = rpc_named(name)
    base = copy.deepcopy(_list_base(target, rpc))
    base.page_size = 1  # type: ignore[attr-defined]
    first = target.unary(rpc, base).response
    assert first is not None
    token = first.next_page_token  # type: ignore[attr-defined]
    assert token
    request = copy.deepcopy(base)
    request.page_token = _forged(token, _token_payload(token)[0]["k"])  # type: ignore[attr-defined]
    assert request.page_token == token, "the forging is not faithful"  # type: ignore[attr-defined]
    for key in [
        "\x00",
        "PL\x00",
        "é",
        " ",
        "",
        "x" * 65,
        2**63,
        -(2**63) - 1,
        10**30,
        1.5,
        True,
        [1],
    ]:
        request.page_token = _forged(token, key)  # type: ignore[attr-defined]
        got = target.unary(rpc, request).failure
        assert got is not None, key
        assert (got.code, got.reason) == (INVALID, "invalid_page_token"), (key, got)


def test_credentials_with_characters_no_key_has_are_unauthenticated(target: Target) -> None:
    """NUL, control, space or non-ASCII characters inside a well-formed
    KEY_ID:SECRET: UNAUTHENTICATED on both stores (PostgreSQL refuses NUL in
    a query; the check must come before the lookup)."""
    key_id, _, secret = target.credentials["admin"].partition(":")
    rpc = rpc_named("TenantService.ListPlatforms")
    for credential in [
        f"{key_id}\x00:{secret}",
        f"{key_id}:{secret}\x00",
        f"\x00{key_id}:{secret}",
        f"{key_id}\x01:{secret}",
        f"{key_id} :{secret}",
        f"{key_id}é:{secret}",
        f"{key_id}:{secret}\x7f",
    ]:
        md = fz.metadata(basic(credential))
        got = fz.call_unary(target.channel, rpc, tenant_pb2.ListPlatformsRequest(), md).failure
        assert got is not None, credential
        assert (got.code, got.reason) == (grpc.StatusCode.UNAUTHENTICATED, "unauthenticated"), (
            credential,
            got,
        )


# --- afterwards -----------------------------------------------------------------------------


def _all_events(target: Target) -> list[event_pb2.Event]:
    rpc = rpc_named("EventService.ListEvents")

    def call(request: Message) -> Message:
        outcome = target.unary(rpc, request, "admin")
        assert outcome.response is not None, outcome.failure
        return outcome.response

    return every(call, event_pb2.ListEventsRequest(page_size=100), "events")


def test_after_the_fuzzing_the_server_serves_and_its_data_holds(target: Target) -> None:
    """Runs last: the same server is alive and healthy, answers a whole
    normal flow, logged no stack, and its event log has no gap and points
    only at objects that exist."""
    server = target.server
    assert server.process.poll() is None, "the server died"
    health = health_pb2_grpc.HealthStub(target.channel)
    assert (
        health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
        == health_pb2.HealthCheckResponse.SERVING
    )
    # A normal flow on new objects: the fuzzing left the server usable.
    shop = make_shop(server)
    created = subscribe(shop.platform, shop.plan_id)
    invoice = created.invoice
    paid = pay(
        shop.platform,
        created.subscription.subscription_id,
        invoice.invoice_id,
        invoice.amounts.total_amount,
    )
    assert paid.payment.payment_id

    log = server.log()
    assert "Traceback" not in log, log[max(log.find("Traceback") - 2000, 0) :][:6000]
    assert "unexpected error" not in log

    events = _all_events(target)
    sequences = [e.sequence for e in events]
    assert sequences == sorted(set(sequences)), "sequences repeat or go back"
    if server.database_url.startswith("sqlite"):
        # Dense on SQLite only: on PostgreSQL a rolled-back transaction
        # consumes a serial number, and a gap is no lost event.
        assert sequences == list(range(1, len(sequences) + 1)), "the event log has a gap"
    _assert_events_match_objects(target, events)
    assert_consistent(server.database_url)

    if set(target.fuzzed) >= {str(rpc) for rpc in UNARY}:
        # The whole fuzz ran: random requests got past validation into the
        # use cases (an answer only they give: done, or refused for the
        # state of the objects) on most RPCs, thanks to the templates and
        # the ID pool, rather than only bouncing off the first field check.
        deep = ("OK", "FAILED_PRECONDITION", "ALREADY_EXISTS", "RESOURCE_EXHAUSTED")
        reached = {rpc for rpc, codes in target.fuzzed.items() if any(codes[c] for c in deep)}
        assert len(reached) >= len(UNARY) * 2 // 3, sorted(set(target.fuzzed) - reached)


def _assert_events_match_objects(target: Target, events: list[event_pb2.Event]) -> None:
    """Every subscription and invoice has its creation event, and every
    event names a subscription, invoice and payment that exist."""
    admin = target.server.admin()
    created = {e.subscription_id for e in events if e.type == "subscription.created"}
    subscriptions = {
        s.subscription_id
        for s in every(
            partial(admin, admin.subscriptions.ListSubscriptions),
            subscription_pb2.ListSubscriptionsRequest(page_size=100),
            "subscriptions",
        )
    }
    assert subscriptions == created
    invoiced = {e.invoice_id for e in events if e.type == "invoice.created"}
    invoices: set[str] = set()
    for sub_id in sorted(subscriptions):
        invoices |= {
            i.invoice_id
            for i in every(
                partial(admin, admin.invoices.ListInvoices),
                invoice_pb2.ListInvoicesRequest(subscription_id=sub_id, page_size=100),
                "invoices",
            )
        }
    assert invoices == invoiced
    for sub_id, invoice_id, payment_id in sorted(
        {(e.subscription_id, e.invoice_id, e.payment_id) for e in events if e.payment_id}
    ):
        admin(
            admin.payments.GetPayment,
            payment_pb2.GetPaymentRequest(
                subscription_id=sub_id, invoice_id=invoice_id, payment_id=payment_id
            ),
        )
