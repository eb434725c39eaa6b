"""Statements: who is owed what over a period, summed from the allocation
ledger (``Allocation`` and ``AllocationShare`` rows, written by
``usecases.allocations`` whenever money moves; only read here).

A platform's statement has, per plan, one line of its own parts (gross,
tax, fee, its share, refunds, credit) and one line per product of the plan
owed to the product's app; an app's statement has one line per platform,
plan and product, with only its cycles and its share. The totals are the
sums of the lines, but for a platform's cycles: those count invoices, and
its product lines count its plans' invoices again, so its total cycles are
its plans' own lines'.

Access: platform keys read their own platform, publisher keys their own
app, admin keys any tenant. Anything else, or a tenant that does not exist,
answers NOT_FOUND and reveals nothing. The check (``visible_tenant``) is
apart from the sums (``statement``), which ``bento statements`` runs on a
read-only store for no caller.

Sums are taken in SQL, grouped, over the indexed ranges: an allocation's
(platform, posted_at) and a share's (app_id, posted_at); a platform's
product lines join the shares of its allocations in the range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import peewee

from bento_server import ids
from bento_server.errors import InvalidArgument, not_found
from bento_server.store.database import Store
from bento_server.store.fields import to_micros
from bento_server.store.models import Allocation, AllocationShare, App, Platform
from bento_server.usecases import paging
from bento_server.usecases.context import PLATFORM, PUBLISHER, Deps, Principal

APP = "app"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

_SUM = peewee.fn.SUM


# --- values -----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From ``start`` (included) to ``end`` (excluded), UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Tenant:
    """A platform (``kind`` "platform") or an app (``kind`` "app")."""

    id: str
    kind: str

    @property
    def is_platform(self) -> bool:
        return self.kind == PLATFORM


@dataclass(frozen=True)
class Amounts:
    """Sums in minor units (``cycles`` is a count of invoices)."""

    cycles: int = 0
    gross: int = 0
    tax: int = 0
    platform_fee: int = 0
    publisher_share: int = 0
    platform_share: int = 0
    refunded: int = 0
    credit_applied: int = 0
    credit_issued: int = 0

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(
            *(getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self))
        )


# The amounts of money, in the order reports print them (``cycles`` is a count).
MONEY = tuple(f.name for f in dataclasses.fields(Amounts) if f.name != "cycles")


@dataclass(frozen=True)
class Line:
    counterpart_id: str
    """The app owed (a platform's product line), the platform that owes (an
    app's line); empty on a plan's own line."""
    plan_id: str
    product_id: str
    """Empty on a plan's own line."""
    amounts: Amounts


@dataclass(frozen=True)
class Statement:
    tenant_id: str
    currency: str
    """Empty when the tenant has no allocation in the period."""
    period: Period
    lines: list[Line]
    totals: Amounts


@dataclass(frozen=True)
class Asked:
    """What a GetStatement or ListAllocations request asks for, checked."""

    tenant_id: str
    currency: str = ""
    """Empty: the only currency of the tenant's allocations in the period."""
    period: Period | None = None
    """None: the previous calendar month (UTC)."""


@dataclass(frozen=True)
class Entry:
    """One allocation as its caller may see it."""

    row: Allocation
    amounts: Amounts
    shares: list[AllocationShare] = field(default_factory=list)


# --- periods and tenants ------------------------------------------------------------


def month(year: int, number: int) -> Period:
    """The calendar month ``year-number`` in UTC. Raises ValueError for a
    month that does not exist or whose end is past year 9999."""
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return Period(start, end)


def previous_month(now: datetime) -> Period:
    """The calendar month before the one ``now`` is in, UTC."""
    now = now.astimezone(UTC)
    year, number = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return month(year, number)


def tenant_kind(tenant_id: str) -> str | None:
    """ "platform" for a platform's ID (``PL...``), "app" for an app's
    (``AP...``), None for anything else."""
    if tenant_id.startswith(ids.PLATFORM):
        return PLATFORM
    if tenant_id.startswith(ids.APP):
        return APP
    return None


def visible_tenant(principal: Principal, tenant_id: str) -> Tenant:
    """The tenant ``principal`` may read statements of: its own (platform and
    publisher keys) or any that exists (admin keys). Any other answers
    NOT_FOUND, as does one that does not exist."""
    kind = tenant_kind(tenant_id)
    if kind is None:
        raise InvalidArgument.field("tenant_id", "must be a platform (PL...) or an app (AP...)")
    own_role = PLATFORM if kind == PLATFORM else PUBLISHER
    may = principal.is_admin or (principal.role == own_role and principal.tenant_id == tenant_id)
    model: Any = Platform if kind == PLATFORM else App
    if not may or not model.select().where(model.id == tenant_id).exists():
        raise not_found(kind, tenant_id)
    return Tenant(tenant_id, kind)


def _in(period: Period, posted_at: peewee.Field) -> Any:
    return (posted_at >= period.start) & (posted_at < period.end)


def currencies(tenant: Tenant, period: Period) -> list[str]:
    """The currencies of the tenant's allocations in the period, sorted."""
    if tenant.is_platform:
        query = Allocation.select(Allocation.currency).where(
            (Allocation.platform == tenant.id) & _in(period, Allocation.posted_at)
        )
    else:
        query = AllocationShare.select(AllocationShare.currency).where(
            (AllocationShare.app_id == tenant.id) & _in(period, AllocationShare.posted_at)
        )
    return sorted(row.currency for row in query.distinct())


def _currency(tenant: Tenant, period: Period, asked: str) -> str:
    """The currency asked for, else the only one of the period ("" for none)."""
    if asked:
        return asked
    found = currencies(tenant, period)
    if len(found) > 1:
        raise InvalidArgument.field(
            "currency",
            f"the allocations of {tenant.id} in the period are in {', '.join(found)}: name one",
        )
    return found[0] if found else ""


@dataclass(frozen=True)
class Active:
    """A tenant with allocations in a period, in one currency."""

    tenant: Tenant
    currency: str


def active(period: Period) -> list[Active]:
    """Every platform, then every app, with allocations in the period, once
    per currency (for ``bento statements``: one pass over the period's rows)."""
    platforms = (
        Allocation.select(Allocation.platform, Allocation.currency)
        .where(_in(period, Allocation.posted_at))
        .distinct()
    )
    apps = (
        AllocationShare.select(AllocationShare.app_id, AllocationShare.currency)
        .where(_in(period, AllocationShare.posted_at))
        .distinct()
    )
    found = [Active(Tenant(row.platform_id, PLATFORM), row.currency) for row in platforms]
    found.sort(key=lambda a: (a.tenant.id, a.currency))
    by_app = [Active(Tenant(row.app_id, APP), row.currency) for row in apps]
    return found + sorted(by_app, key=lambda a: (a.tenant.id, a.currency))


# --- statements ---------------------------------------------------------------------


def _amounts(**sums: Any) -> Amounts:
    # SUM of a bigint is numeric on PostgreSQL (a Decimal here), NULL for no row.
    return Amounts(**{name: int(value or 0) for name, value in sums.items()})


def _platform_lines(tenant: Tenant, currency: str, period: Period) -> Iterator[Line]:
    in_range = (
        (Allocation.platform == tenant.id)
        & _in(period, Allocation.posted_at)
        & (Allocation.currency == currency)
    )
    own = (
        Allocation.select(
            Allocation.plan_id,
            _SUM(Allocation.cycles).alias("cycles"),
            _SUM(Allocation.paid).alias("gross"),
            _SUM(Allocation.tax).alias("tax"),
            _SUM(Allocation.platform_fee).alias("platform_fee"),
            _SUM(Allocation.platform_share).alias("platform_share"),
            _SUM(Allocation.refunded).alias("refunded"),
            _SUM(Allocation.credit_applied).alias("credit_applied"),
            _SUM(Allocation.credit_issued).alias("credit_issued"),
        )
        .where(in_range)
        .group_by(Allocation.plan_id)
        .dicts()
    )
    for row in own:
        plan_id = row.pop("plan_id")
        yield Line("", plan_id, "", _amounts(**row))
    products = (
        AllocationShare.select(
            AllocationShare.plan_id,
            AllocationShare.app_id,
            AllocationShare.product_id,
            _SUM(AllocationShare.amount).alias("publisher_share"),
            _SUM(AllocationShare.cycles).alias("cycles"),
        )
        .join(Allocation, on=AllocationShare.allocation == Allocation.id)
        .where(in_range)
        .group_by(AllocationShare.plan_id, AllocationShare.app_id, AllocationShare.product_id)
        .dicts()
    )
    for row in products:
        yield Line(
            row["app_id"],
            row["plan_id"],
            row["product_id"],
            _amounts(publisher_share=row["publisher_share"], cycles=row["cycles"]),
        )


def _app_lines(tenant: Tenant, currency: str, period: Period) -> Iterator[Line]:
    query = (
        AllocationShare.select(
            AllocationShare.platform_id,
            AllocationShare.plan_id,
            AllocationShare.product_id,
            _SUM(AllocationShare.amount).alias("publisher_share"),
            _SUM(AllocationShare.cycles).alias("cycles"),
        )
        .where(
            (AllocationShare.app_id == tenant.id)
            & _in(period, AllocationShare.posted_at)
            & (AllocationShare.currency == currency)
        )
        .group_by(AllocationShare.platform_id, AllocationShare.plan_id, AllocationShare.product_id)
        .dicts()
    )
    for row in query:
        yield Line(
            row["platform_id"],
            row["plan_id"],
            row["product_id"],
            _amounts(publisher_share=row["publisher_share"], cycles=row["cycles"]),
        )


def statement(tenant: Tenant, currency: str, period: Period) -> Statement:
    """The tenant's statement in ``currency`` over ``period``, read in the
    caller's transaction; no access check (``visible_tenant`` is that).
    An empty ``currency`` gives an empty statement."""
    lines: list[Line] = []
    if currency:
        found = (_platform_lines if tenant.is_platform else _app_lines)(tenant, currency, period)
        # By plan, then product: a plan's own line (no product) first.
        lines = sorted(found, key=lambda line: (line.plan_id, line.product_id, line.counterpart_id))
    totals = _total(line.amounts for line in lines)
    if tenant.is_platform:
        # Cycles count invoices: a platform's product lines count again the
        # invoices of their plan's own line, so its total is the plans' own.
        invoices = sum(line.amounts.cycles for line in lines if not line.product_id)
        totals = dataclasses.replace(totals, cycles=invoices)
    return Statement(tenant.id, currency, period, lines, totals)


def _total(amounts: Iterable[Amounts]) -> Amounts:
    total = Amounts()
    for each in amounts:
        total += each
    return total


@contextmanager
def _snapshot(store: Store) -> Iterator[None]:
    """One snapshot for several reads: allocations committing meanwhile
    must not show in one sum and not in another. PostgreSQL's default READ
    COMMITTED takes a snapshot per statement; SQLite's read transaction
    already holds one."""
    if store.is_postgres:
        with store.db.atomic(isolation_level="REPEATABLE READ"):
            yield
    else:
        with store.read():
            yield


def get_statement(deps: Deps, principal: Principal, asked: Asked) -> Statement:
    period = asked.period or previous_month(deps.clock.now())
    with _snapshot(deps.store):
        tenant = visible_tenant(principal, asked.tenant_id)
        currency = _currency(tenant, period, asked.currency)
        return statement(tenant, currency, period)


# --- allocations --------------------------------------------------------------------


def _could_be_key(after: Any) -> bool:
    """Whether a token's key is one this list gives out: [posted_at in
    microseconds, allocation ID] (the checksum catches corruption, not
    forgery, and the store must never see a number past 64 bits or a NUL)."""
    return (
        isinstance(after, list)
        and len(after) == 2
        and type(after[0]) is int
        and -(2**63) <= after[0] < 2**63
        and type(after[1]) is str
        and 0 < len(after[1]) <= 64
        and ids.is_token(after[1])
    )


def _page(page_size: int, page_token: str, scope: str) -> paging.Page:
    # paging's conventions, with this list's own default and limit.
    page = paging.page(page_size, page_token, scope)
    size = DEFAULT_PAGE_SIZE if page_size == 0 else min(page_size, MAX_PAGE_SIZE)
    if page.after is not None and not _could_be_key(page.after):
        raise InvalidArgument.field(
            "page_token", "not a page token of this list", "invalid_page_token"
        )
    return dataclasses.replace(page, size=size)


def _entry(row: Allocation, shares: list[AllocationShare], full: bool) -> Entry:
    if not full:
        # A publisher sees when a cycle counts and its own shares, nothing else.
        return Entry(row, Amounts(cycles=row.cycles), shares)
    return Entry(
        row,
        Amounts(
            cycles=row.cycles,
            gross=row.paid,
            tax=row.tax,
            platform_fee=row.platform_fee,
            publisher_share=sum(share.amount for share in shares),
            platform_share=row.platform_share,
            refunded=row.refunded,
            credit_applied=row.credit_applied,
            credit_issued=row.credit_issued,
        ),
        shares,
    )


def list_allocations(
    deps: Deps, principal: Principal, asked: Asked, page_size: int, page_token: str
) -> paging.Listed[Entry]:
    """The allocations behind a statement, oldest first (posted_at, then ID).

    A platform's, or for an app those with a share of it. Publisher keys
    see only the cycles and their own app's shares of each; platform and
    admin keys see all of it."""
    period = asked.period or previous_month(deps.clock.now())
    with _snapshot(deps.store):
        tenant = visible_tenant(principal, asked.tenant_id)
        currency = _currency(tenant, period, asked.currency)
        scope = (
            f"ListAllocations|{tenant.id}|{currency}|"
            f"{to_micros(period.start)}|{to_micros(period.end)}"
        )
        page = _page(page_size, page_token, scope)
        if not currency:
            return paging.Listed([], "")
        query = Allocation.select().where(
            _in(period, Allocation.posted_at) & (Allocation.currency == currency)
        )
        if tenant.is_platform:
            query = query.where(Allocation.platform == tenant.id)
        else:
            with_share = AllocationShare.select(AllocationShare.allocation).where(
                (AllocationShare.app_id == tenant.id)
                & _in(period, AllocationShare.posted_at)
                & (AllocationShare.currency == currency)
            )
            query = query.where(Allocation.id.in_(with_share))
        if page.after is not None:
            posted, last = page.after
            query = query.where(
                (Allocation.posted_at > posted)
                | ((Allocation.posted_at == posted) & (Allocation.id > last))
            )
        rows = list(query.order_by(Allocation.posted_at, Allocation.id).limit(page.size + 1))
        token = paging.next_token(page, rows, lambda row: [to_micros(row.posted_at), row.id])
        rows = rows[: page.size]
        full = principal.role != PUBLISHER
        shares: dict[str, list[AllocationShare]] = {row.id: [] for row in rows}
        if rows:
            found = AllocationShare.select().where(AllocationShare.allocation.in_(list(shares)))
            if not full:
                found = found.where(AllocationShare.app_id == principal.tenant_id)
            for share in found.order_by(AllocationShare.id):
                shares[share.allocation_id].append(share)
        return paging.Listed([_entry(row, shares[row.id], full) for row in rows], token)
