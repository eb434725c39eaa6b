"""Webhook deliveries: the events each endpoint receives, from the outbox to
its URL.

Fan-out. Deliveries are made from the event log, never from the write that
appended an event, so none is lost when a process dies between the two: an
endpoint's durable ``cursor`` is the sequence up to which its events were
turned into deliveries. In one transaction, a page of the events after it
that the endpoint's owner may see (and of its types) becomes pending
deliveries, and the cursor moves to the newest sequence looked at. On
PostgreSQL the endpoint's row is locked (SKIP LOCKED) so two replicas never
fan one endpoint out at once; the unique (endpoint, sequence) index makes a
repeat harmless anyway.

Sending. A sender claims due deliveries with a lease (``leased_until``, on
the wall clock: replicas share it, whatever a test clock says), at most
``MAX_IN_FLIGHT_PER_ENDPOINT`` per endpoint, first attempts in sequence
order, and records what the endpoint answered: 2xx is delivered, anything
else is retried after a backoff that follows ``deps.clock`` (so the test
clock makes retries due). A delivery still undelivered ``GIVE_UP_AFTER``
its first attempt fails and disables its endpoint (``failing``, with a
``webhook_endpoint.disabled`` event); the endpoint's other deliveries wait,
pending, until it is enabled again. A delivery whose event retention pruned
before it could go is skipped, never dropped silently.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import peewee

from bento_server import ids
from bento_server.billing.statuses import EventType
from bento_server.clock import SystemClock
from bento_server.errors import BentoError, not_found
from bento_server.store import statements
from bento_server.store.database import Store
from bento_server.store.fields import to_micros
from bento_server.store.models import Event, WebhookDelivery, WebhookEndpoint
from bento_server.usecases import events, paging
from bento_server.usecases.context import Deps, Principal
from bento_server.usecases.event_views import EventView, seen_by
from bento_server.usecases.webhook_endpoints import find, owned_by, owner_of

log = logging.getLogger("bento.webhooks")

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
SKIPPED = "skipped"
FAILING = "failing"
TEST_TYPE = "webhook.test"

# Retries after the 1st, 2nd, ... failed attempt; the last one repeats.
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
)
JITTER = 0.1
# A delivery undelivered this long after its first attempt disables its endpoint.
GIVE_UP_AFTER = timedelta(days=3)
# How long a sender holds a claimed delivery; another may take it after.
# Three times an attempt's longest (the 10 s answer timeout): a live sender
# always records first, and a dead one's claims come back within half a minute.
LEASE = timedelta(seconds=30)
MAX_IN_FLIGHT_PER_ENDPOINT = 4
FAN_OUT_PAGE = 500
MAX_ERROR = 500

# Leases are on the wall clock: the clock replicas share.
_WALL = SystemClock()


def _locked(store: Store, query: peewee.ModelSelect) -> peewee.ModelSelect:
    return query.for_update() if store.is_postgres else query


# --- fan-out ----------------------------------------------------------------------


def endpoints_behind() -> list[str]:
    """Enabled endpoints whose cursor is behind the log."""
    newest = events.newest_sequence()
    query = (
        WebhookEndpoint.select(WebhookEndpoint.id)
        .where((WebhookEndpoint.disabled == False) & (WebhookEndpoint.cursor < newest))  # noqa: E712
        .order_by(WebhookEndpoint.id)
    )
    return [row.id for row in query]


def fan_out(deps: Deps) -> int:
    """Turns every enabled endpoint's new events into deliveries; answers how many."""
    made = 0
    while endpoints_behind():
        count, more = fan_out_page(deps)
        made += count
        if not more:
            break
    return made


def fan_out_page(deps: Deps) -> tuple[int, bool]:
    """A page of each enabled endpoint's fan-out, all in one transaction
    (one commit for a hundred endpoints, not a hundred, and one read of the
    log for endpoints of one owner and types at one cursor): how many
    deliveries it made, and whether more events wait after it."""
    with deps.store.write():
        # Appends commit in sequence order: every event up to the newest is there.
        high = events.newest_sequence()
        query = (
            WebhookEndpoint.select()
            .where((WebhookEndpoint.disabled == False) & (WebhookEndpoint.cursor < high))  # noqa: E712
            .order_by(WebhookEndpoint.id)
        )
        # Those another replica is fanning out now are left to it.
        behind = list(statements.skip_locked(deps.store, query))
        pruned = events.pruned_through()
        now = deps.clock.now()
        reads: dict[tuple[str, str | None, tuple[str, ...], int], list[Event]] = {}
        made: list[dict[str, Any]] = []
        moved: dict[int, list[str]] = {}
        more = False
        for endpoint in behind:
            if endpoint.cursor < pruned:
                # Retention went past what it had been sent (it was disabled
                # for longer than events are kept): those cannot be sent.
                log.warning(
                    "webhook endpoint %s missed events %d to %d: pruned by retention before "
                    "they could be sent",
                    endpoint.id,
                    endpoint.cursor + 1,
                    pruned,
                )
            key = (
                endpoint.role,
                endpoint.tenant_id,
                tuple(sorted(endpoint.event_types)),
                endpoint.cursor,
            )
            if key not in reads:
                reads[key] = events.read_after(
                    owner_of(endpoint),
                    endpoint.cursor,
                    high,
                    endpoint.event_types,
                    "",
                    FAN_OUT_PAGE,
                )
            rows = reads[key]
            made += _new_deliveries(endpoint, rows, now)
            full = len(rows) == FAN_OUT_PAGE
            more = more or full
            moved.setdefault(rows[-1].sequence if full else high, []).append(endpoint.id)
        _insert(made)
        for cursor, endpoint_ids in moved.items():
            WebhookEndpoint.update(cursor=cursor).where(
                WebhookEndpoint.id.in_(endpoint_ids)
            ).execute()
        return len(made), more


def _new_deliveries(
    endpoint: WebhookEndpoint, rows: list[Event], now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "id": ids.new_id(ids.WEBHOOK_DELIVERY),
            "endpoint": endpoint.id,
            "sequence": row.sequence,
            "event_id": row.event_id,
            "event_type": row.type,
            "state": PENDING,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for row in rows
    ]


def _insert(made: list[dict[str, Any]]) -> None:
    """Pending deliveries; one an earlier fan-out made already stays as it is."""
    for start in range(0, len(made), FAN_OUT_PAGE):
        chunk = made[start : start + FAN_OUT_PAGE]
        WebhookDelivery.insert_many(chunk).on_conflict_ignore().execute()


def _fan_out_page(deps: Deps, endpoint: WebhookEndpoint, after: int) -> tuple[int, int, bool]:
    """Pending deliveries for a page of the events after ``after`` the
    endpoint receives: (how many, the newest sequence looked at, more?)."""
    high = events.newest_sequence()
    if high <= after:
        return 0, after, False
    rows = events.read_after(
        owner_of(endpoint), after, high, endpoint.event_types, "", FAN_OUT_PAGE
    )
    _insert(_new_deliveries(endpoint, rows, deps.clock.now()))
    if len(rows) == FAN_OUT_PAGE:
        return len(rows), rows[-1].sequence, True
    return len(rows), high, False


# --- claiming ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A delivery a sender holds: what to POST where, and the secrets that sign it."""

    delivery_id: str
    endpoint_id: str
    url: str
    event: EventView
    # The current secret first; the previous one while a rotation overlaps.
    secrets: tuple[str, ...] = field(repr=False)
    # Until when this sender holds it (None for a test message sent at once):
    # a retry or replay asked for while it is out changes the row's lease.
    lease: datetime | None = None

    @property
    def message_id(self) -> str:
        """``webhook-id``: the same for every attempt of one event to one endpoint."""
        return f"msg_{self.event.event_id}_{self.endpoint_id}"


def _due(now: datetime, wall: datetime) -> peewee.Expression:
    return (
        (WebhookDelivery.state == PENDING)
        & (WebhookDelivery.next_attempt_at <= now)
        & (WebhookDelivery.leased_until.is_null() | (WebhookDelivery.leased_until < wall))
    )


def endpoints_due(deps: Deps) -> list[str]:
    """Enabled endpoints with a delivery due and free to claim."""
    query = (
        WebhookDelivery.select(WebhookDelivery.endpoint)
        .join(WebhookEndpoint)
        .where(_due(deps.clock.now(), _WALL.now()) & (WebhookEndpoint.disabled == False))  # noqa: E712
        .distinct()
    )
    return [row.endpoint_id for row in query]


def claim(deps: Deps, room: int, full: frozenset[str] = frozenset()) -> list[Outgoing]:
    """Leases up to ``room`` due deliveries for this sender, in one
    transaction: of each endpoint, oldest event first, so that at most
    ``MAX_IN_FLIGHT_PER_ENDPOINT`` of its deliveries are out at once across
    replicas. ``full`` names endpoints this sender already has that many
    out to."""
    endpoint_ids = [e for e in endpoints_due(deps) if e not in full]
    if not endpoint_ids:
        return []
    # No endpoint always first when there is less room than work.
    random.shuffle(endpoint_ids)
    with deps.store.write():
        query = WebhookEndpoint.select().where(
            WebhookEndpoint.id.in_(endpoint_ids) & (WebhookEndpoint.disabled == False)  # noqa: E712
        )
        # Claims of one endpoint take turns, so the count of its leases
        # holds; one another replica is claiming now is left to it.
        endpoints = {e.id: e for e in statements.skip_locked(deps.store, query)}
        if not endpoints:
            return []
        now, wall = deps.clock.now(), _WALL.now()
        out = dict(
            WebhookDelivery.select(WebhookDelivery.endpoint, peewee.fn.COUNT(WebhookDelivery.id))
            .where(
                WebhookDelivery.endpoint.in_(list(endpoints))
                & (WebhookDelivery.state == PENDING)
                & (WebhookDelivery.leased_until >= wall)
            )
            .group_by(WebhookDelivery.endpoint)
            .tuples()
        )
        lease = wall + LEASE
        claimed: list[Outgoing] = []
        leased: list[str] = []
        skipped: list[str] = []
        for endpoint_id in endpoint_ids:
            endpoint = endpoints.get(endpoint_id)
            free = min(MAX_IN_FLIGHT_PER_ENDPOINT - out.get(endpoint_id, 0), room - len(claimed))
            if endpoint is None or free <= 0:
                continue
            rows = list(
                WebhookDelivery.select()
                .where((WebhookDelivery.endpoint == endpoint.id) & _due(now, wall))
                .order_by(WebhookDelivery.sequence, WebhookDelivery.id)
                .limit(free)
            )
            if not rows:
                continue
            try:
                secrets = signing_secrets(deps, endpoint, now)
            except BentoError:
                # A secret sealed under another key: nothing can be signed
                # until the key is set right. The deliveries wait, pending.
                continue
            sequences = [r.sequence for r in rows if r.sequence is not None]
            found = {e.sequence: e for e in Event.select().where(Event.sequence.in_(sequences))}
            owner = owner_of(endpoint)
            for row in rows:
                if row.sequence is None:
                    view = test_event(row.event_id, endpoint.id, row.created_at)
                elif row.sequence in found:
                    view = seen_by(owner, found[row.sequence])
                else:  # retention pruned its event before it could go
                    skipped.append(row.id)
                    continue
                leased.append(row.id)
                claimed.append(Outgoing(row.id, endpoint.id, endpoint.url, view, secrets, lease))
        if leased:
            WebhookDelivery.update(leased_until=lease).where(
                WebhookDelivery.id.in_(leased)
            ).execute()
        if skipped:
            WebhookDelivery.update(
                state=SKIPPED,
                next_attempt_at=None,
                last_error="the event was pruned by retention before it could be sent",
                updated_at=now,
            ).where(WebhookDelivery.id.in_(skipped)).execute()
        return claimed


def signing_secrets(deps: Deps, endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    """The endpoint's current secret, and its previous one while the
    rotation's overlap lasts (on ``deps.clock``, as the rotation set it)."""
    secrets = [deps.secrets.open(endpoint.secret_sealed)]
    if (
        endpoint.previous_secret_sealed
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(deps.secrets.open(endpoint.previous_secret_sealed))
    return tuple(secrets)


def test_event(message_id: str, endpoint_id: str, at: datetime) -> EventView:
    """The ``webhook.test`` message: an event no log holds."""
    return EventView(
        sequence=0,
        event_id=message_id,
        type=TEST_TYPE,
        occurred_at=at,
        data={"webhook_endpoint": {"endpoint_id": endpoint_id}},
    )


# --- recording what the endpoint answered -------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One attempt: the HTTP status (0 if none came back) and what went
    wrong, if anything. ``kind`` is delivered, http_status, timeout,
    connection_error or refused (the address may not be sent to)."""

    status_code: int
    error: str
    kind: str

    @property
    def delivered(self) -> bool:
        return self.kind == "delivered"


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt, with jitter so a
    burst of failures does not come back all at once."""
    base = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


@dataclass(frozen=True)
class Recorded:
    """What recording an attempt did: the delivery's state after it, and
    whether it disabled the endpoint (an event was appended)."""

    state: str
    disabled_endpoint: bool = False


def record(deps: Deps, sent: Outgoing, outcome: Outcome) -> Recorded:
    """Records one attempt of a claimed delivery and frees its lease."""
    (recorded,) = record_all(deps, [(sent, outcome)])
    return recorded


def record_all(deps: Deps, attempts: list[tuple[Outgoing, Outcome]]) -> list[Recorded]:
    """Records attempts of claimed deliveries in one transaction (one commit
    for many answers), freeing their leases."""
    now = deps.clock.now()
    with deps.store.write():
        query = WebhookDelivery.select().where(
            WebhookDelivery.id.in_([sent.delivery_id for sent, _ in attempts])
        )
        found = {row.id: row for row in _locked(deps.store, query)}
        results = []
        # Deliveries answered 2xx, still held under their lease: the usual
        # case, written with one statement per status code.
        plain: dict[int, list[str]] = {}
        for sent, outcome in attempts:
            delivery = found.get(sent.delivery_id)
            if (
                delivery is not None
                and outcome.delivered
                and sent.lease is not None
                and delivery.leased_until == sent.lease
            ):
                plain.setdefault(outcome.status_code, []).append(delivery.id)
                results.append(Recorded(DELIVERED))
            else:
                results.append(_record(deps, sent, outcome, now, delivery))
        for status, delivered in plain.items():
            WebhookDelivery.update(
                state=DELIVERED,
                attempts=WebhookDelivery.attempts + 1,
                first_attempt_at=peewee.fn.COALESCE(
                    WebhookDelivery.first_attempt_at, to_micros(now)
                ),
                last_status_code=status,
                last_error="",
                next_attempt_at=None,
                delivered_at=now,
                leased_until=None,
                updated_at=now,
            ).where(WebhookDelivery.id.in_(delivered)).execute()
        return results


def _record(
    deps: Deps, sent: Outgoing, outcome: Outcome, now: datetime, delivery: WebhookDelivery | None
) -> Recorded:
    if delivery is None:  # its endpoint was deleted meanwhile
        return Recorded("gone")
    held = delivery.leased_until
    if held is not None and sent.lease is not None and held > sent.lease:
        # This attempt outlived its lease and another sender took the
        # delivery: what happens to it is the other's to record.
        return Recorded(delivery.state)
    # A retry or a replay asked for while this attempt was out shortened
    # the lease: it goes again.
    asked_again = held != sent.lease
    delivery.attempts += 1
    if delivery.first_attempt_at is None:
        delivery.first_attempt_at = now
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:MAX_ERROR]
    delivery.leased_until = None
    delivery.updated_at = now
    disabled = False
    if asked_again:
        delivery.state = PENDING
        delivery.next_attempt_at = now
    elif outcome.delivered:
        delivery.state = DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.sequence is None:
        # A test message is sent when asked, never retried.
        delivery.state = FAILED
        delivery.next_attempt_at = None
    elif now - delivery.first_attempt_at >= GIVE_UP_AFTER:
        delivery.state = FAILED
        delivery.next_attempt_at = None
        disabled = _disable_failing(deps, delivery.endpoint_id, now)
    else:
        delivery.next_attempt_at = min(
            now + backoff(delivery.attempts), delivery.first_attempt_at + GIVE_UP_AFTER
        )
    delivery.save()
    return Recorded(delivery.state, disabled)


def _disable_failing(deps: Deps, endpoint_id: str, now: datetime) -> bool:
    query = WebhookEndpoint.select().where(WebhookEndpoint.id == endpoint_id)
    endpoint = _locked(deps.store, query).first()
    if endpoint is None or endpoint.disabled:
        return False
    endpoint.disabled = True
    endpoint.disabled_reason = FAILING
    endpoint.updated_at = now
    endpoint.save()
    events.append_about_endpoint(
        deps, EventType.WEBHOOK_ENDPOINT_DISABLED, endpoint, now, data={"reason": FAILING}
    )
    return True


@dataclass(frozen=True)
class Backlog:
    """Pending deliveries already attempted: how many each endpoint has, and
    seconds since the first attempt of its oldest (the clock that disables
    an endpoint at 3 days)."""

    count: dict[str, int]
    oldest_age: dict[str, float]


def retry_backlog(deps: Deps) -> Backlog:
    now = deps.clock.now()
    rows = (
        WebhookDelivery.select(
            WebhookDelivery.endpoint,
            peewee.fn.COUNT(WebhookDelivery.id),
            peewee.fn.MIN(WebhookDelivery.first_attempt_at),
        )
        .where((WebhookDelivery.state == PENDING) & WebhookDelivery.first_attempt_at.is_null(False))
        .group_by(WebhookDelivery.endpoint)
        .tuples()
    )
    count: dict[str, int] = {}
    oldest_age: dict[str, float] = {}
    for endpoint_id, n, first in rows:
        count[endpoint_id] = n
        oldest_age[endpoint_id] = (
            now - WebhookDelivery.first_attempt_at.python_value(first)
        ).total_seconds()
    return Backlog(count, oldest_age)


# --- the RPCs' use cases -------------------------------------------------------------


def _deliveries_of(principal: Principal) -> peewee.ModelSelect:
    return WebhookDelivery.select().where(
        WebhookDelivery.endpoint.in_(owned_by(principal).select(WebhookEndpoint.id))
    )


def find_delivery(
    deps: Deps, principal: Principal, delivery_id: str, *, lock: bool = False
) -> WebhookDelivery:
    query = _deliveries_of(principal).where(WebhookDelivery.id == delivery_id)
    row = (_locked(deps.store, query) if lock else query).first()
    if row is None:
        raise not_found("webhook_delivery", delivery_id)
    return cast("WebhookDelivery", row)


def list_deliveries(
    deps: Deps,
    principal: Principal,
    endpoint_id: str,
    event_id: str,
    state: str | None,
    page_size: int,
    page_token: str,
) -> paging.Listed[WebhookDelivery]:
    """The caller's deliveries, oldest first; a filter on an endpoint the
    caller does not own is NOT_FOUND."""
    scope = (
        f"ListWebhookDeliveries|{principal.role}|{principal.tenant_id or ''}|"
        f"{endpoint_id}|{event_id}|{state or ''}"
    )
    page = paging.page(page_size, page_token, scope)
    if endpoint_id:
        find(deps, principal, endpoint_id)
    query = _deliveries_of(principal)
    if endpoint_id:
        query = query.where(WebhookDelivery.endpoint == endpoint_id)
    if event_id:
        query = query.where(WebhookDelivery.event_id == event_id)
    if state:
        query = query.where(WebhookDelivery.state == state)
    return paging.fetch(query, page, WebhookDelivery.id)


def retry(deps: Deps, principal: Principal, delivery_id: str) -> WebhookDelivery:
    """Makes a delivery pending and due now, whatever its state (it waits
    while its endpoint is disabled)."""
    now = deps.clock.now()
    with deps.store.write():
        row = find_delivery(deps, principal, delivery_id, lock=True)
        row.state = PENDING
        row.next_attempt_at = now
        if row.leased_until is not None:
            # Out now: the sender that holds it sees the lease changed and
            # makes it due again when it records this attempt.
            row.leased_until -= timedelta(microseconds=1)
        row.updated_at = now
        row.save()
        return row


@dataclass(frozen=True)
class Replayed:
    scheduled: int
    # The sequence retention pruned through, when the replay reaches below
    # it; 0 otherwise.
    pruned_through: int


def replay(deps: Deps, principal: Principal, endpoint_id: str, after_sequence: int) -> Replayed:
    """Every event after ``after_sequence`` the endpoint receives becomes a
    pending delivery, due now: those delivered before, and those after its
    cursor that were not fanned out yet."""
    now = deps.clock.now()
    with deps.store.write():
        endpoint = find(deps, principal, endpoint_id, lock=True)
        after = min(after_sequence, endpoint.cursor)
        more = True
        while more:
            _, after, more = _fan_out_page(deps, endpoint, after)
        if after > endpoint.cursor:
            WebhookEndpoint.update(cursor=after).where(WebhookEndpoint.id == endpoint.id).execute()
        pruned = events.pruned_through()
        floor = max(after_sequence, pruned)
        scheduled = (
            WebhookDelivery.update(
                state=PENDING,
                next_attempt_at=now,
                # Changed under a sender that holds one: see ``record``.
                leased_until=WebhookDelivery.leased_until - 1,
                updated_at=now,
            )
            .where(
                (WebhookDelivery.endpoint == endpoint.id)
                & WebhookDelivery.sequence.is_null(False)
                & (WebhookDelivery.sequence > floor)
            )
            .execute()
        )
        return Replayed(scheduled, pruned if after_sequence < pruned else 0)


def prepare_test(deps: Deps, principal: Principal, endpoint_id: str) -> Outgoing:
    """A ``webhook.test`` message for the caller's endpoint, signed as its
    events are (also while it is disabled: the owner asked)."""
    with deps.store.read():
        endpoint = find(deps, principal, endpoint_id)
        now = deps.clock.now()
        message_id = ids.new_id(ids.EVENT)
        return Outgoing(
            ids.new_id(ids.WEBHOOK_DELIVERY),
            endpoint.id,
            endpoint.url,
            test_event(message_id, endpoint.id, now),
            signing_secrets(deps, endpoint, now),
        )


def record_test(deps: Deps, sent: Outgoing, outcome: Outcome) -> WebhookDelivery | None:
    """Records a test message that was sent, as a delivery with no sequence
    (None if its endpoint was deleted meanwhile)."""
    now = deps.clock.now()
    with deps.store.write():
        if not WebhookEndpoint.select().where(WebhookEndpoint.id == sent.endpoint_id).exists():
            return None
        return cast(
            "WebhookDelivery | None",
            WebhookDelivery.create(
                id=sent.delivery_id,
                endpoint=sent.endpoint_id,
                sequence=None,
                event_id=sent.event.event_id,
                event_type=TEST_TYPE,
                state=DELIVERED if outcome.delivered else FAILED,
                attempts=1,
                last_status_code=outcome.status_code,
                last_error=outcome.error[:MAX_ERROR],
                next_attempt_at=None,
                first_attempt_at=now,
                delivered_at=now if outcome.delivered else None,
                created_at=now,
                updated_at=now,
            ),
        )
