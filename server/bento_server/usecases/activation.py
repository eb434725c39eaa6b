"""Activation sessions and their single-use codes.

Paying a subscription's first invoice (or starting its trial) opens one
session with one item per app of the plan. Each item's code is shown once,
in the response that issued it, and stored only as its SHA-256 hash: the
database alone cannot activate anything. A code works for 7 days and once.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import peewee

from bento_server import ids
from bento_server.billing.activation import derive_status
from bento_server.billing.statuses import ActivationItemStatus as ItemStatus
from bento_server.billing.statuses import ActivationStatus, EventType
from bento_server.errors import FailedPrecondition, InvalidArgument, NotFound, not_found
from bento_server.store import statements
from bento_server.store.models import (
    ActivationItem,
    ActivationSession,
    App,
    Invoice,
    Platform,
    Product,
    Subscription,
)
from bento_server.usecases import events, scoping
from bento_server.usecases.context import PLATFORM, PUBLISHER, Deps, Principal

CODE_LIFETIME = timedelta(days=7)
_ALPHABET = string.ascii_uppercase + string.digits  # 36^16 codes: about 2^83

log = logging.getLogger("bento.scheduler")


@dataclass(frozen=True)
class IssuedCode:
    """An item with its plain code, which exists only in this response."""

    item: ActivationItem
    code: str
    url: str


@dataclass(frozen=True)
class Opened:
    session: ActivationSession
    codes: list[IssuedCode]


def new_code() -> str:
    """A code in the seed's shape: AC_XXXXXXXX_XXXXXXXX, from a secure source."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return f"AC_{chars[:8]}_{chars[8:]}"


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalized_code(code: str) -> str:
    """A code as it was issued: users retype codes from a screen, and a
    lower-case letter or a space around it is no other code (issued codes
    are upper case, so the hash of the normalized code is the stored one)."""
    return code.strip().upper()


def _url(template: str, code: str) -> str:
    return template.replace("{code}", code)


def _issue(item: ActivationItem, template: str, now: datetime) -> IssuedCode:
    code = new_code()
    item.code_hash = code_hash(code)
    item.jti = ids.new_id(ids.ACTIVATION_TOKEN)
    item.expires_at = now + CODE_LIFETIME
    item.exchanged_at = None
    item.status = ItemStatus.PENDING
    item.updated_at = now
    return IssuedCode(item, code, _url(template, code))


def open_session(deps: Deps, sub: Subscription, invoice: Invoice, now: datetime) -> Opened | None:
    """Opens a session for the apps of the subscription's plan that it has no
    activation item for yet (in the caller's transaction): every app for a
    first paid invoice or a trial, the new apps of a plan change.

    Returns None when every app has one already. Concurrent payments
    serialize on the subscription's row lock, and the unique index on the
    invoice backs that up.
    """
    earlier = statements.ACTIVATION_ITEMS_OF.rows(deps.store, subscription_id=sub.id)
    held = {row[0] for row in earlier}
    rows = [
        row for row in statements.plan_products(deps.store, sub.plan_id) if row.app_id not in held
    ]
    if not rows or statements.INVOICE_SESSION.first_row(deps.store, invoice_id=invoice.id):
        return None
    session = statements.NEW_ACTIVATION_SESSION.create(
        deps.store,
        id=ids.new_id(ids.ACTIVATION_SESSION),
        subscription=sub.id,
        invoice=invoice.id,
        platform=sub.platform_id,
        session_id=sub.session_id,
        status=ActivationStatus.PENDING,
        expires_at=now + CODE_LIFETIME,
        created_at=now,
        updated_at=now,
    )
    codes: list[IssuedCode] = []
    seen_apps: set[str] = set()
    for row in rows:
        if row.app_id in seen_apps:
            continue  # one item per app: a bundle may hold two products of one app
        seen_apps.add(row.app_id)
        item = ActivationItem(
            session=session.id,
            app=row.app_id,
            app_name=row.app_name,
            product=row.product_id,
            product_name=row.product_name,
            created_at=now,
        )
        issued = _issue(item, row.activation_url_template, now)
        statements.NEW_ACTIVATION_ITEM.save_new(deps.store, item)
        codes.append(issued)
    # The caller saves the subscription in this transaction. Its status
    # follows every item of all its sessions, as ``_refresh`` derives it: a
    # plan change that adds an app to activated ones is partial, not pending.
    sub.activation_session_id = session.id
    sub.activation_status = derive_status(
        [row[1] for row in earlier] + [c.item.status for c in codes]
    )
    events.append(
        deps,
        EventType.ACTIVATION_SESSION_CREATED,
        sub,
        now,
        app_ids=list(seen_apps),
        data={"activation_session": _session_snapshot(session, [c.item for c in codes])},
        activation_session_id=session.id,
    )
    return Opened(session, codes)


def _session_snapshot(session: ActivationSession, items: list[ActivationItem]) -> dict[str, object]:
    return {
        "activation_session_id": session.id,
        "status": session.status,
        "items": [
            {"app_id": i.app_id, "product_id": i.product_id, "status": i.status, "jti": i.jti}
            for i in items
        ],
    }


def _refresh(session: ActivationSession, items: list[ActivationItem], now: datetime) -> None:
    """Derives the session's status and expiry, and the subscription's status."""
    session.status = derive_status([i.status for i in items])
    pending = [i.expires_at for i in items if i.status == ItemStatus.PENDING]
    if pending:
        session.expires_at = max(pending)
    session.updated_at = now
    session.save()
    # A plan change that adds apps opens a second session: the subscription
    # follows every item of all its sessions.
    every = [
        row.status
        for row in ActivationItem.select(ActivationItem.status)
        .join(ActivationSession)
        .where(ActivationSession.subscription == session.subscription_id)
    ]
    Subscription.update(activation_status=derive_status(every), updated_at=now).where(
        Subscription.id == session.subscription_id
    ).execute()


def _changed(
    deps: Deps,
    event_type: EventType,
    session: ActivationSession,
    items: list[ActivationItem],
    now: datetime,
    app_ids: list[str],
    data: Callable[[], dict[str, Any]],
) -> None:
    """After some of a session's items changed: the session's and the
    subscription's statuses derived again (``_refresh``), and the event
    that says so, seen by the apps of ``app_ids``, its data made by ``data``
    once the statuses are derived."""
    _refresh(session, items, now)
    sub = Subscription.get_by_id(session.subscription_id)
    events.append(
        deps,
        event_type,
        sub,
        now,
        app_ids=app_ids,
        activation_session_id=session.id,
        data=data(),
    )


# --- reading ----------------------------------------------------------------------


def _sessions(principal: Principal) -> peewee.ModelSelect:
    query = ActivationSession.select()
    if principal.role == PLATFORM:
        query = query.where(ActivationSession.platform == principal.tenant_id)
    elif principal.role == PUBLISHER:
        mine = ActivationItem.select(ActivationItem.session).where(
            ActivationItem.app == principal.tenant_id
        )
        query = query.where(ActivationSession.id.in_(mine))
    return query


def _session(
    deps: Deps, principal: Principal, session_id: str, lock: bool = False
) -> ActivationSession:
    query = _sessions(principal).where(ActivationSession.id == session_id)
    if lock and deps.store.is_postgres:
        query = query.for_update()
    session = query.first()
    if session is None:
        raise NotFound(
            f"activation session {session_id!r} not found", "activation_session_not_found"
        )
    return cast("ActivationSession", session)


def _items(session: ActivationSession) -> list[ActivationItem]:
    return list(
        ActivationItem.select()
        .where(ActivationItem.session == session.id)
        .order_by(ActivationItem.id)
    )


@dataclass(frozen=True)
class SessionView:
    session: ActivationSession
    items: list[ActivationItem]
    platform_name: str


def _view(session: ActivationSession, items: list[ActivationItem]) -> SessionView:
    name = Platform.select(Platform.name).where(Platform.id == session.platform_id).scalar()
    return SessionView(session, items, name or "")


def get_session(deps: Deps, principal: Principal, session_id: str) -> SessionView:
    with deps.store.read():
        session = _session(deps, principal, session_id)
        items = _items(session)
        if principal.role == PUBLISHER:
            items = [i for i in items if i.app_id == principal.tenant_id]
        return _view(session, items)


# --- exchanging ---------------------------------------------------------------------


@dataclass(frozen=True)
class Exchanged:
    item: ActivationItem
    session: ActivationSession
    product: Product
    platform_name: str


def exchange(deps: Deps, principal: Principal, code: str) -> Exchanged:
    """Trades a code for what it bought, once.

    Unknown, expired and other apps' codes all answer the same NOT_FOUND, so
    a publisher learns nothing about codes that are not its own.
    """
    now = deps.clock.now()
    missing = NotFound("activation code not found or expired", "activation_code_not_found")
    with deps.store.write():
        query = ActivationItem.select().where(
            ActivationItem.code_hash == code_hash(normalized_code(code))
        )
        if principal.role == PUBLISHER:
            query = query.where(ActivationItem.app == principal.tenant_id)
        item = query.first()
        if item is None or item.status == ItemStatus.EXPIRED or item.expires_at <= now:
            raise missing
        # The conditional update is the claim: of concurrent exchanges of one
        # code, exactly one sees a row to change.
        claimed = (
            ActivationItem.update(exchanged_at=now, updated_at=now)
            .where((ActivationItem.id == item.id) & ActivationItem.exchanged_at.is_null())
            .execute()
        )
        if claimed != 1 or item.status != ItemStatus.PENDING:
            raise FailedPrecondition(
                "this activation code has already been exchanged", "activation_code_already_used"
            )
        item.exchanged_at = now
        session = ActivationSession.get_by_id(item.activation_session_id)
        product = Product.get_by_id(item.product_id)
        name = Platform.select(Platform.name).where(Platform.id == session.platform_id).scalar()
        sub = scoping.locked(deps.store, session.subscription_id)
        events.append(
            deps,
            EventType.ACTIVATION_ITEM_UPDATED,
            sub,
            now,
            app_ids=[item.app_id],
            activation_session_id=session.id,
            data={"activation_item": _item_snapshot(item), "change": "exchanged"},
        )
        return Exchanged(item, session, product, name or "")


def _item_snapshot(item: ActivationItem) -> dict[str, object]:
    return {
        "app_id": item.app_id,
        "product_id": item.product_id,
        "status": item.status,
        "jti": item.jti,
        "user_id": item.user_id,
        "error_reason": item.error_reason,
    }


# --- confirming -----------------------------------------------------------------------


def update_item(
    deps: Deps,
    principal: Principal,
    session_id: str,
    app_id: str,
    status: str,
    activated_at: datetime | None,
    user_id: str,
    error_reason: str,
) -> tuple[ActivationItem, ActivationSession]:
    now = deps.clock.now()
    with deps.store.write():
        session = _session(deps, principal, session_id, lock=True)
        items = _items(session)
        item = next((i for i in items if i.app_id == app_id), None)
        if item is None or (principal.role == PUBLISHER and item.app_id != principal.tenant_id):
            raise not_found("activation_item", app_id)
        if item.status == status:
            return item, session  # already so: nothing changes, no event
        if item.status in (ItemStatus.ACTIVATED, ItemStatus.EXPIRED):
            raise FailedPrecondition(
                f"the item is {item.status}; it cannot become {status}", "invalid_status_transition"
            )
        item.status = status
        item.user_id = user_id or item.user_id
        item.error_reason = error_reason if status == ItemStatus.FAILED else ""
        item.activated_at = (activated_at or now) if status == ItemStatus.ACTIVATED else None
        item.updated_at = now
        item.save()
        _changed(
            deps,
            EventType.ACTIVATION_ITEM_UPDATED,
            session,
            items,
            now,
            [item.app_id],
            lambda: {"activation_item": _item_snapshot(item), "session_status": session.status},
        )
        return item, session


# --- regenerating ---------------------------------------------------------------------


def regenerate(
    deps: Deps,
    principal: Principal,
    session_id: str,
    regenerate_all: bool,
    app_ids: list[str],
    force: bool,
) -> tuple[ActivationSession, list[IssuedCode]]:
    """New codes for some or all items; the old ones stop working at once."""
    now = deps.clock.now()
    with deps.store.write():
        session = _session(deps, principal, session_id, lock=True)
        items = _items(session)
        if regenerate_all:
            targets = [i for i in items if i.status != ItemStatus.ACTIVATED]
        else:
            by_app = {i.app_id: i for i in items}
            unknown = [a for a in app_ids if a not in by_app]
            if unknown:
                raise InvalidArgument.field("app_ids", f"not in this session: {', '.join(unknown)}")
            targets = [by_app[a] for a in app_ids]
            activated = [i.app_id for i in targets if i.status == ItemStatus.ACTIVATED]
            if activated:
                raise FailedPrecondition(
                    f"already activated: {', '.join(activated)}", "invalid_status_transition"
                )
        still_valid = [
            i.app_id
            for i in targets
            if i.status == ItemStatus.PENDING and i.exchanged_at is None and i.expires_at > now
        ]
        if still_valid and not force:
            raise FailedPrecondition(
                f"the codes of {', '.join(still_valid)} are still valid; set force to replace them",
                "codes_still_valid",
            )
        templates = dict(
            App.select(App.id, App.activation_url_template)
            .where(App.id.in_([i.app_id for i in targets]))
            .tuples()
        )
        issued = [_issue(item, templates[item.app_id], now) for item in targets]
        for code in issued:
            code.item.error_reason = ""
            code.item.save()
        _changed(
            deps,
            EventType.ACTIVATION_CODES_REGENERATED,
            session,
            items,
            now,
            [c.item.app_id for c in issued],
            lambda: {"activation_session": _session_snapshot(session, items)},
        )
        return session, issued


# --- expiry (the billing clock) ---------------------------------------------------------


# A session whose codes' expiry failed, in the sweep's ``skip``: the
# subscription IDs the other kinds of work put there cannot look like this.
_SKIPPED = "activation_code_expiry:"


def _expiring(skip: set[str]) -> peewee.Expression:
    # An exchanged code's item waits for its publisher's answer, however long.
    due = (ActivationItem.status == ItemStatus.PENDING) & ActivationItem.exchanged_at.is_null()
    skipped = [key[len(_SKIPPED) :] for key in skip if key.startswith(_SKIPPED)]
    return due & ActivationItem.session.not_in(skipped) if skipped else due


def next_expiry(deps: Deps, skip: set[str]) -> datetime | None:
    value = ActivationItem.select(peewee.fn.MIN(ActivationItem.expires_at)).where(_expiring(skip))
    return cast("datetime | None", ActivationItem.expires_at.python_value(value.scalar()))


def expire(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    """Marks codes past their 7 days expired, one session per transaction. A
    session whose expiry fails is rolled back, logged with its subscription,
    and skipped until the next sweep, so the clock goes on with the rest."""
    done = 0
    while limit is None or done < limit:
        found = (
            ActivationItem.select(ActivationItem.session, ActivationSession.subscription)
            .join(ActivationSession)
            .where(_expiring(skip) & (ActivationItem.expires_at <= at))
            .order_by(ActivationItem.expires_at)
            .tuples()
            .first()
        )
        if found is None:
            return done
        session_id, subscription_id = found
        try:
            done += _expire_session(deps, session_id, at)
        except Exception:
            log.exception(
                "activation code expiry of session %s of %s failed; skipped until the next sweep",
                session_id,
                subscription_id,
            )
            skip.add(f"{_SKIPPED}{session_id}")
    return done


def _expire_session(deps: Deps, session_id: str, at: datetime) -> int:
    """Expires the session's codes due at ``at``; how many it expired."""
    with deps.store.write():
        session = ActivationSession.get_by_id(session_id)
        items = _items(session)
        expiring = [
            i
            for i in items
            if i.status == ItemStatus.PENDING and i.exchanged_at is None and i.expires_at <= at
        ]
        for item in expiring:
            item.status = "expired"
            item.updated_at = at
            item.save()
        _changed(
            deps,
            EventType.ACTIVATION_ITEM_UPDATED,
            session,
            items,
            at,
            [i.app_id for i in expiring],
            lambda: {"activation_session": _session_snapshot(session, items), "change": "expired"},
        )
    return len(expiring)
