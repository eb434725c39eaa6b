"""Named statements: the reads and writes a hot path makes on every call,
their SQL built once per kind of database and then kept as text.

Peewee builds a query's SQL anew on every execution, and for a row of
sixty columns that costs twenty times what running it does (BENCHMARKS.md
counts the statements of each flow). A ``NamedSelect`` builds its query once
with a marker where each argument goes, keeps the SQL and where the
markers fell among its parameters, and from then on only substitutes the
arguments and runs it through the driver's cursor (``Store.fetch``). Rows
become model instances the way Peewee's own cursor makes them, column
values converted by their fields, so callers see no difference.
``NamedInsert`` and ``save_changes`` do the same for ``Model.create`` and
``Model.save``; ``NamedQuery`` is a select of any shape answering raw rows.
The text depends only on the kind of database (its quoting and
placeholders), so that is what it is kept by. PostgreSQL also prepares each
text once per connection (``Store._prepared``); ``LoopReads`` runs some on
the event loop's own connection.

A marker is a string no argument can be, passed to the driver unconverted;
arguments are text and numbers, a value of another kind converted by the
caller with its field's ``db_value``.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

import peewee

from bento_server.infra.read_batch import ReadBatcher
from bento_server.store.database import Store, numbered
from bento_server.store.loop_connection import LoopConnection

M = TypeVar("M", bound=peewee.Model)

_MARK = "\x00bento-argument-"


def _kind(store: Store) -> str:
    return "postgresql" if store.is_postgres else "sqlite"


def argument(name: str) -> peewee.Value:
    """The marker of the argument ``name`` in a query being built. The
    argument goes to the driver as given (text or a number): a value of
    another kind is converted by the caller with its field's ``db_value``."""
    return peewee.Value(f"{_MARK}{name}", converter=False)


class _OneOf(peewee.ColumnBase):
    """``column`` is one of the list the argument ``name`` holds: one text
    for any length of list, so it is built once. PostgreSQL takes the list
    as an array (``= ANY``), SQLite as a JSON array (``json_each``): pass it
    through ``listed``."""

    def __init__(self, column: peewee.Field, name: str) -> None:
        super().__init__()
        self._column = column
        self._name = name

    def __sql__(self, ctx: Any) -> Any:
        ctx.sql(self._column)
        if ctx.state.param == "%s":  # PostgreSQL's driver
            return ctx.literal(" = ANY(").sql(argument(self._name)).literal(")")
        return (
            ctx.literal(" IN (SELECT value FROM json_each(").sql(argument(self._name)).literal("))")
        )


def one_of(column: peewee.Field, name: str) -> peewee.ColumnBase:
    """The condition that ``column`` is one of the argument ``name``'s
    values (given through ``listed``)."""
    return _OneOf(column, name)


def listed(store: Store, values: list[Any]) -> Any:
    """A list as ``one_of`` takes it on this store."""
    return list(values) if store.is_postgres else json.dumps(list(values))


def skip_locked(store: Store, query: peewee.ModelSelect) -> peewee.ModelSelect:
    """``query``, locking what it finds for this transaction and passing
    over rows another transaction holds (PostgreSQL: replicas share work
    without waiting on each other); SQLite's write transaction already
    holds the whole database."""
    return query.for_update("FOR UPDATE SKIP LOCKED") if store.is_postgres else query


def lists_token(column: peewee.Field, token: str) -> peewee.Expression:
    """The condition that ``column``, a JSON list of IDs (letters and
    digits only, so no LIKE wildcards), holds ``token``: a match on the
    list's text, which needs no JSON functions of either database."""
    # converter=False keeps the pattern from being JSON-encoded as a value
    # of the field.
    pattern = peewee.Value(f'%"{token}"%', converter=False)
    return peewee.Expression(column, peewee.OP.ILIKE, pattern)


def _bind(params: list[Any], arguments: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        arguments[p[len(_MARK) :]] if isinstance(p, str) and p.startswith(_MARK) else p
        for p in params
    )


# Fields whose conversions hand a value of these exact types back unchanged,
# both ways; subclasses (documents, instants) convert theirs.
_PASSED_AS_IS: dict[type[peewee.Field], frozenset[type]] = {
    peewee.CharField: frozenset({str}),
    peewee.TextField: frozenset({str}),
    peewee.IntegerField: frozenset({int}),
    peewee.BigIntegerField: frozenset({int}),
    peewee.AutoField: frozenset({int}),
    peewee.BigAutoField: frozenset({int}),
    peewee.DoubleField: frozenset({float}),
    peewee.FloatField: frozenset({float}),
    peewee.BooleanField: frozenset({bool}),
}


def passed_as_is(field: peewee.Field) -> frozenset[type]:
    """The types of value ``field`` converts to themselves (``db_value`` and
    ``python_value`` alike): a row's conversion skips those calls, two
    function calls for each of sixty columns."""
    if isinstance(field, peewee.ForeignKeyField):
        return passed_as_is(field.rel_field)
    return _PASSED_AS_IS.get(type(field), frozenset())


# Fields whose values both drivers hand back as the field's own type (text,
# integers), which their conversions would hand back unchanged.
_DRIVEN = (
    peewee.CharField,
    peewee.TextField,
    peewee.IntegerField,
    peewee.BigIntegerField,
    peewee.AutoField,
    peewee.BigAutoField,
)


def _as_driven(field: peewee.Field) -> bool:
    if isinstance(field, peewee.ForeignKeyField):
        return _as_driven(field.rel_field)
    return type(field) in _DRIVEN


class _Reader(NamedTuple):
    names: tuple[str, ...]
    converted: list[tuple[str, Callable[[Any], Any], frozenset[type]]]


def stored(model: type[M], data: dict[str, Any], foreign_keys: tuple[str, ...] = ()) -> M:
    """An instance of a stored row, ``data`` its values by field name, as
    Peewee's cursor makes one (nothing dirty) without its per-field
    ``setattr``: a third of reading a sixty-column row. A caller's values
    may hold a model instance for one of the ``foreign_keys``, which goes
    through its field (that keeps the instance); a row read holds none."""
    instance: M = object.__new__(model)
    instance.__data__ = data
    instance.__rel__ = {}
    for name in foreign_keys:
        if isinstance(data[name], peewee.Model):
            setattr(instance, name, data[name])
    instance._dirty = set()
    return instance


class NamedQuery:
    """A SELECT of any shape (joins, some columns, aggregates), built once per
    database; answers the driver's rows as they come (text and numbers; a
    column of another kind is the caller's to convert)."""

    def __init__(
        self, build: Callable[[], peewee.Select], *, lock: bool = False, skip_locked: bool = False
    ) -> None:
        self._build = build
        self._lock_rows = lock or skip_locked
        self._skip_locked = skip_locked
        self._built: dict[str, tuple[str, list[Any], list[Any]]] = {}
        self._mutex = threading.Lock()

    def _prepared(self, store: Store) -> tuple[str, list[Any], list[Any]]:
        key = _kind(store)
        built = self._built.get(key)
        if built is None:
            with self._mutex:
                query = self._build()
                if self._lock_rows and store.is_postgres:
                    # Row locks on PostgreSQL; SQLite's write transaction
                    # already holds the whole database. Skipping those
                    # another transaction holds (``skip_locked``).
                    query = query.for_update(
                        "FOR UPDATE SKIP LOCKED" if self._skip_locked else True
                    )
                sql, params = query.sql()
                built = (sql, list(params), list(query._returning))
                self._check(built[2])
                self._built[key] = built
        return built

    def _check(self, columns: list[Any]) -> None:
        """Refuses a query whose columns its rows cannot be made of."""

    def rows(self, store: Store, **arguments: Any) -> list[tuple[Any, ...]]:
        sql, params, _ = self._prepared(store)
        return store.fetch(sql, _bind(params, arguments), prepare=True)

    def first_row(self, store: Store, **arguments: Any) -> tuple[Any, ...] | None:
        rows = self.rows(store, **arguments)
        return rows[0] if rows else None


class NamedSelect(NamedQuery, Generic[M]):
    """A ``Model.select()`` query of one model's columns, built once per
    database; answers model instances."""

    def __init__(
        self, model: type[M], build: Callable[[], peewee.ModelSelect], *, lock: bool = False
    ) -> None:
        super().__init__(build, lock=lock)
        self._model = model
        # Per list of columns (one per kind of database, kept in ``_built``):
        # the columns' names, and those a driver may hand back as another
        # type than the field's, each with its converter and the types it
        # passes as they are.
        self._readers: dict[int, _Reader] = {}

    def _instance(self, fields: list[Any], row: tuple[Any, ...]) -> M:
        reader = self._readers.get(id(fields))
        if reader is None:
            reader = self._readers[id(fields)] = _Reader(
                tuple(field.name for field in fields),
                [
                    (field.name, field.python_value, passed_as_is(field))
                    for field in fields
                    if not _as_driven(field)
                ],
            )
        # Most of a row's columns are text and integers, as the drivers give
        # them: only the others go through their fields, a fifth of a
        # subscription's sixty.
        data = dict(zip(reader.names, row, strict=True))
        for name, convert, plain in reader.converted:
            value = data[name]
            if value is not None and type(value) not in plain:
                data[name] = convert(value)
        return stored(self._model, data)

    def _check(self, columns: list[Any]) -> None:
        for field in columns:
            # Only plain columns of the model: what the row maps back onto.
            assert isinstance(field, peewee.Field) and field.model is self._model

    def first(self, store: Store, **arguments: Any) -> M | None:
        """The first row for ``arguments``, as a model instance, or None."""
        sql, params, fields = self._prepared(store)
        rows = store.fetch(sql, _bind(params, arguments), prepare=True)
        return self._instance(fields, rows[0]) if rows else None

    def all(self, store: Store, **arguments: Any) -> list[M]:
        """Every row for ``arguments``, as model instances."""
        sql, params, fields = self._prepared(store)
        return [
            self._instance(fields, row)
            for row in store.fetch(sql, _bind(params, arguments), prepare=True)
        ]


class LoopReads:
    """Reads by ID the event loop runs through its own PostgreSQL connection
    (``store.loop_connection``): a read of one indexed row waits on the
    socket like any other call, with no hop to a worker thread. Reads of one
    kind asked while one is in flight go to the database together, in one
    round trip (``ReadBatcher``): the connection runs one statement at a
    time, and under load they queued on it one by one."""

    def __init__(self, store: Store, selects: list[NamedSelect[Any]]) -> None:
        self._names: dict[int, str] = {}
        prepared: dict[str, tuple[str | None, str]] = {}
        for n, named in enumerate(selects):
            sql, _, _ = named._prepared(store)
            self._names[id(named)] = f"short_read_{n}"
            prepared[f"short_read_{n}"] = (None, numbered(sql))
        self._store = store
        self._connection = LoopConnection(store.db, prepared)  # type: ignore[arg-type]
        self._batchers: dict[int, ReadBatcher[str, Any]] = {}

    async def by_id(self, among: NamedSelect[M], key: str) -> M | None:
        """The row whose primary key is ``key``, read by ``among`` (a select
        of the rows whose key is ``one_of`` the argument ``ids``), in a batch
        with the other reads by ``among`` asked meanwhile."""
        batcher = self._batchers.get(id(among))
        if batcher is None:
            batcher = self._batchers[id(among)] = ReadBatcher(functools.partial(self._among, among))
        return await batcher.read(key)  # type: ignore[no-any-return]

    async def _among(self, among: NamedSelect[M], keys: Sequence[str]) -> list[M | None]:
        _, params, fields = among._prepared(self._store)
        arguments = {"ids": sorted(set(keys))}
        rows = await self._connection.execute(self._names[id(among)], _bind(params, arguments))
        found: dict[str, M | None] = {}
        for row in rows:
            read = among._instance(fields, row)
            found[read._pk] = read
        answers: list[M | None] = []
        given: set[str] = set()
        for key in keys:
            instance = found.get(key)
            if instance is not None and key in given:
                # Asked twice in one batch: a copy of its own, callers may change theirs.
                instance = stored(type(instance), dict(instance.__data__))
            given.add(key)
            answers.append(instance)
        return answers

    def close(self) -> None:
        self._connection.close()


# Rows of one multi-row insert at most, and the most PostgreSQL prepares.
MANY_ROWS = 200
PREPARED_ROWS = 8


class NamedInsert(Generic[M]):
    """``Model.create`` with the INSERT's text built once per database: every
    column of the model, defaults filled as Peewee fills them, values
    converted by their fields. Answers the instance, its database-numbered
    key (if it has one) set, as ``create`` does."""

    def __init__(self, model: type[M]) -> None:
        self._model = model
        meta = model._meta  # type: ignore[attr-defined]
        self._auto = meta.primary_key if meta.auto_increment else None
        self._fields: list[peewee.Field] = [f for f in meta.sorted_fields if f is not self._auto]
        self._sql: dict[str, str] = {}
        # Worked out once: each column's default (made per row when it is
        # callable), the field a foreign key's ``..._id`` name stands for,
        # and each column's converter with the types it passes as they are.
        self._defaults = {f.name: f.default for f in self._fields if not callable(f.default)}
        self._made = [(f.name, f.default) for f in self._fields if callable(f.default)]
        self._by_id_name = {
            f.object_id_name: f.name for f in self._fields if isinstance(f, peewee.ForeignKeyField)
        }
        self._names = frozenset(f.name for f in self._fields)
        self._converters = [(f.name, f.db_value, passed_as_is(f)) for f in self._fields]
        self._foreign_keys = tuple(
            f.name for f in self._fields if isinstance(f, peewee.ForeignKeyField)
        )

    def _text(self, store: Store, rows: int = 1) -> str:
        key = f"{_kind(store)}/{rows}"
        sql = self._sql.get(key)
        if sql is None:
            meta = self._model._meta  # type: ignore[attr-defined]
            mark = "%s" if store.is_postgres else "?"
            columns = ", ".join(f'"{f.column_name}"' for f in self._fields)
            marks = ", ".join([f"({', '.join([mark] * len(self._fields))})"] * rows)
            sql = f'INSERT INTO "{meta.table_name}" ({columns}) VALUES {marks}'
            if self._auto is not None and store.is_postgres and rows == 1:
                sql += f' RETURNING "{self._auto.column_name}"'
            self._sql[key] = sql
        return sql

    def _row(self, values: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        """Every column's value by field name (given by field name, or a
        foreign key's ``..._id``, else its default, as Peewee fills them),
        and the parameters of the INSERT: each value as its field converts
        it. In comprehensions, not a loop of statements: a billing batch
        inserts a row of fifty columns per renewal."""
        given = values
        if not values.keys() <= self._names:
            by_id_name = self._by_id_name
            given = {by_id_name.get(key, key): value for key, value in values.items()}
        data = self._defaults.copy()
        data.update(given)
        for name, make in self._made:
            if name not in given:
                data[name] = make()
        # A field converts None to None (Peewee's rule, and ours in fields.py).
        params = [
            value if (value := data[name]) is None or type(value) in plain else convert(value)
            for name, convert, plain in self._converters
        ]
        return data, params

    def save_new(self, store: Store, instance: M) -> None:
        """``instance.save(force_insert=True)``: a new row of an instance
        built in memory (its defaults already filled)."""
        params = tuple(field.db_value(instance.__data__.get(field.name)) for field in self._fields)
        cursor = store.execute(self._text(store), params, prepare=True)
        if self._auto is not None:
            instance.__data__[self._auto.name] = self._numbered(store, cursor)
        instance._dirty.clear()

    @staticmethod
    def _numbered(store: Store, cursor: Any) -> int:
        """The key the database gave the row just inserted."""
        return int(cursor.fetchone()[0] if store.is_postgres else cursor.lastrowid)

    def create_many(self, store: Store, rows: list[dict[str, Any]]) -> None:
        """Inserts ``rows`` (values by field name, as ``create`` takes them),
        up to ``MANY_ROWS`` a statement; the keys the database numbered are
        not read back.

        PostgreSQL prepares the few-row shapes a transaction's events take;
        a longer one (a billing batch's) is sent as text, so a connection
        does not keep a prepared statement for every row count."""
        for start in range(0, len(rows), MANY_ROWS):
            chunk = rows[start : start + MANY_ROWS]
            params = tuple(value for row in chunk for value in self._row(row)[1])
            store.execute(
                self._text(store, len(chunk)),
                params,
                prepare=len(chunk) <= PREPARED_ROWS,
                hold=True,
            )

    def create(self, store: Store, **values: Any) -> M:
        assert self._auto is None or values.get(self._auto.name) is None, (
            "the database numbers this key: a row given its key is Model.create's"
        )
        data, values_in_order = self._row(values)
        params = tuple(values_in_order)
        if self._auto is None:
            store.execute(self._text(store), params, prepare=True, hold=True)
        else:
            cursor = store.execute(self._text(store), params, prepare=True)
            data[self._auto.name] = self._numbered(store, cursor)
        return stored(self._model, data, self._foreign_keys)


# By database, model and the names of the columns that changed: the UPDATE,
# each changed column's converter, and the primary key.
_UPDATES: dict[
    tuple[str, type, frozenset[str]],
    tuple[str, list[tuple[str, Callable[[Any], Any], frozenset[type]]], peewee.Field],
] = {}


def save_changes(store: Store, instance: peewee.Model) -> None:
    """``instance.save()`` of a stored row: an UPDATE of the columns that
    changed (the models save only those), its text built once per database,
    model and set of columns. Nothing changed, nothing sent."""
    dirty = instance._dirty
    if not dirty:
        return
    model = type(instance)
    key = (_kind(store), model, frozenset(dirty))
    update = _UPDATES.get(key)
    if update is None:
        meta = model._meta  # type: ignore[attr-defined]
        primary = meta.primary_key
        changed = [f for f in meta.sorted_fields if f.name in dirty and f is not primary]
        mark = "%s" if store.is_postgres else "?"
        columns = ", ".join(f'"{f.column_name}" = {mark}' for f in changed)
        sql = f'UPDATE "{meta.table_name}" SET {columns} WHERE "{primary.column_name}" = {mark}'
        converters = [(f.name, f.db_value, passed_as_is(f)) for f in changed]
        update = _UPDATES[key] = (sql, converters, primary)
    sql, converters, primary = update
    if not converters:  # only the key was set
        instance._dirty.clear()
        return
    data = instance.__data__
    params = [
        value if (value := data.get(name)) is None or type(value) in plain else convert(value)
        for name, convert, plain in converters
    ]
    params.append(primary.db_value(instance._pk))
    store.execute(sql, tuple(params), prepare=True, hold=True)
    instance._dirty.clear()


# --- the statements ------------------------------------------------------------------
# Imported here, below the machinery, so the models module stays free of it.
from bento_server.billing import statuses  # noqa: E402
from bento_server.store.models import (  # noqa: E402
    ActivationItem,
    ActivationSession,
    Allocation,
    AllocationShare,
    App,
    Event,
    IdempotencyRecord,
    Invoice,
    Payment,
    Plan,
    PlanProduct,
    Platform,
    Product,
    Subscription,
    SubscriptionFeature,
)


def _subscription(of_platform: bool) -> Callable[[], peewee.ModelSelect]:
    # The ID first: the filters that follow it only refuse a row found.
    def build() -> peewee.ModelSelect:
        query = Subscription.select().where(Subscription.id == argument("subscription_id"))
        if of_platform:
            query = query.where(Subscription.platform == argument("platform_id"))
        return query.limit(1)

    return build


def _invoice(of_platform: bool, of_subscription: bool = True) -> Callable[[], peewee.ModelSelect]:
    def build() -> peewee.ModelSelect:
        query = Invoice.select().where(Invoice.id == argument("invoice_id"))
        if of_subscription:
            query = query.where(Invoice.subscription == argument("subscription_id"))
        if of_platform:
            query = query.where(Invoice.platform == argument("platform_id"))
        return query.limit(1)

    return build


def _plan(of_platform: bool) -> Callable[[], peewee.ModelSelect]:
    def build() -> peewee.ModelSelect:
        query = Plan.select().where(Plan.id == argument("plan_id"))
        if of_platform:
            query = query.where(Plan.platform == argument("platform_id"))
        return query.limit(1)

    return build


SUBSCRIPTION = NamedSelect(Subscription, _subscription(of_platform=False))
"""A subscription by ``subscription_id``."""
SUBSCRIPTION_OF_PLATFORM = NamedSelect(Subscription, _subscription(of_platform=True))
"""A subscription by ``subscription_id``, if it is ``platform_id``'s."""
INVOICE = NamedSelect(Invoice, _invoice(of_platform=False))
"""An invoice by ``invoice_id``, if it is ``subscription_id``'s."""
INVOICE_OF_PLATFORM = NamedSelect(Invoice, _invoice(of_platform=True))
"""An invoice by ``invoice_id``, if it is ``subscription_id``'s and ``platform_id``'s."""
INVOICE_BY_ID = NamedSelect(Invoice, _invoice(of_platform=False, of_subscription=False))
"""An invoice by ``invoice_id`` alone (invoice IDs are unique)."""
INVOICE_BY_ID_OF_PLATFORM = NamedSelect(Invoice, _invoice(of_platform=True, of_subscription=False))
"""An invoice by ``invoice_id`` alone, if it is ``platform_id``'s."""

# The same, locked for this transaction (row locks on PostgreSQL).
SUBSCRIPTION_LOCKED = NamedSelect(Subscription, _subscription(of_platform=False), lock=True)
SUBSCRIPTION_OF_PLATFORM_LOCKED = NamedSelect(
    Subscription, _subscription(of_platform=True), lock=True
)
INVOICE_LOCKED = NamedSelect(Invoice, _invoice(of_platform=False), lock=True)
INVOICE_OF_PLATFORM_LOCKED = NamedSelect(Invoice, _invoice(of_platform=True), lock=True)

PLAN = NamedSelect(Plan, _plan(of_platform=False))
"""A plan by ``plan_id``."""
PLAN_OF_PLATFORM = NamedSelect(Plan, _plan(of_platform=True))
"""A plan by ``plan_id``, if it is ``platform_id``'s."""
PLATFORM = NamedSelect(Platform, lambda: Platform.select().where(Platform.id == argument("id")))
"""A platform by ``id``."""

IDEMPOTENCY_RECORD = NamedSelect(
    IdempotencyRecord,
    lambda: (
        IdempotencyRecord.select()
        .where(
            (IdempotencyRecord.api_key_id == argument("api_key_id"))
            & (IdempotencyRecord.key == argument("key"))
        )
        .limit(1)
    ),
)
"""The answer stored under ``api_key_id``'s idempotency ``key``."""

PLAN_PRODUCTS = NamedQuery(
    lambda: (
        PlanProduct.select(
            Product.id,
            Product.name,
            Product.price_wholesale,
            Product.features,
            App.id,
            App.name,
            App.activation_url_template,
        )
        .join(Product)
        .join(App)
        .where(PlanProduct.plan == argument("plan_id"))
        .order_by(PlanProduct.position)
    )
)
"""A plan's products in the plan's order: (product ID, product name,
wholesale price as stored, features as stored, app ID, app name, app's
activation URL template)."""


class PlanProductRow(NamedTuple):
    product_id: str
    product_name: str
    price_wholesale: dict[str, Any] | None
    features: list[dict[str, Any]]
    app_id: str
    app_name: str
    activation_url_template: str


def plan_products(store: Store, plan_id: str) -> tuple[PlanProductRow, ...]:
    """A plan's products and their apps, in the plan's order: read once per
    caller's write (``Store.memo``)."""
    return store.memo(("plan_products", plan_id), lambda: _plan_products(store, plan_id))


def _plan_products(store: Store, plan_id: str) -> tuple[PlanProductRow, ...]:
    wholesale, features = Product.price_wholesale.python_value, Product.features.python_value
    return tuple(
        PlanProductRow(row[0], row[1], wholesale(row[2]), features(row[3]), *row[4:])
        for row in PLAN_PRODUCTS.rows(store, plan_id=plan_id)
    )


SUBSCRIPTION_FEATURES = NamedSelect(
    SubscriptionFeature,
    lambda: SubscriptionFeature.select().where(
        SubscriptionFeature.subscription == argument("subscription_id")
    ),
)
"""The features a subscription holds."""

SUBSCRIPTION_HELD = NamedQuery(
    lambda: (
        Subscription.select(Subscription.id)
        .where(
            (Subscription.platform == argument("platform_id"))
            & (Subscription.session_id == argument("session_id"))
            & (Subscription.plan == argument("plan_id"))
            & (
                Subscription.status.in_(statuses.HELD)
                | (
                    (Subscription.status == statuses.SubscriptionStatus.CANCELED)
                    & (Subscription.ended_at > argument("now"))
                )
            )
        )
        .limit(1)
    )
)
"""The ID of a subscription of ``session_id`` to ``plan_id`` that still holds
it: live, or canceled with service until after ``now`` (an instant as stored)."""

LIVE_INVOICES = NamedSelect(
    Invoice,
    lambda: (
        Invoice.select()
        .where(
            (Invoice.subscription == argument("subscription_id"))
            & (
                Invoice.status.in_((statuses.InvoiceStatus.OPEN, statuses.InvoiceStatus.DRAFT))
                | (Invoice.billing_cycle >= argument("current_cycle"))
            )
        )
        .order_by(Invoice.id)
    ),
)
"""A subscription's invoices that can still change: open and draft ones,
and those of ``current_cycle`` on."""

SUBSCRIPTIONS_AMONG = NamedSelect(
    Subscription, lambda: Subscription.select().where(one_of(Subscription.id, "ids"))
)
"""The subscriptions of a list of IDs (``listed``): a billing batch's, or
GetSubscription's on the event loop (``LoopReads.by_id``)."""

INVOICES_AMONG = NamedSelect(Invoice, lambda: Invoice.select().where(one_of(Invoice.id, "ids")))
"""The invoices of a list of IDs (``listed``): GetInvoice's on the event
loop (``LoopReads.by_id``)."""

LIVE_INVOICES_AMONG = NamedSelect(
    Invoice,
    lambda: (
        Invoice.select()
        .join(Subscription, on=(Invoice.subscription == Subscription.id))
        .where(
            one_of(Invoice.subscription, "ids")
            & (
                Invoice.status.in_((statuses.InvoiceStatus.OPEN, statuses.InvoiceStatus.DRAFT))
                | (Invoice.billing_cycle >= Subscription.current_cycle)
            )
        )
        .order_by(Invoice.id)
    ),
)
"""``LIVE_INVOICES`` of a list of subscriptions (``listed``), each compared
with its stored current cycle."""

LAST_CYCLES_AMONG = NamedQuery(
    lambda: (
        Invoice.select(Invoice.subscription, peewee.fn.MAX(Invoice.billing_cycle))
        .where(one_of(Invoice.subscription, "ids"))
        .group_by(Invoice.subscription)
    )
)
"""``LAST_CYCLE`` of a list of subscriptions (``listed``): (ID, cycle) rows."""

LAST_CYCLE = NamedQuery(
    lambda: Invoice.select(peewee.fn.MAX(Invoice.billing_cycle)).where(
        Invoice.subscription == argument("subscription_id")
    )
)
"""The highest billing cycle of a subscription's invoices (NULL: none)."""

ACTIVATION_ITEMS_OF = NamedQuery(
    lambda: (
        ActivationItem.select(ActivationItem.app, ActivationItem.status)
        .join(ActivationSession)
        .where(ActivationSession.subscription == argument("subscription_id"))
    )
)
"""The activation items of all a subscription's sessions: (app ID, status)."""

INVOICE_SESSION = NamedQuery(
    lambda: (
        ActivationSession.select(ActivationSession.id)
        .where(ActivationSession.invoice == argument("invoice_id"))
        .limit(1)
    )
)
"""The activation session an invoice opened, if any."""

LAST_EVENT = NamedQuery(lambda: Event.select(peewee.fn.MAX(Event.sequence)))
"""The last event's sequence (NULL: the log is empty)."""

NEW_SUBSCRIPTION = NamedInsert(Subscription)
NEW_INVOICE = NamedInsert(Invoice)
NEW_PAYMENT = NamedInsert(Payment)
NEW_ALLOCATION = NamedInsert(Allocation)
NEW_ALLOCATION_SHARES = NamedInsert(AllocationShare)
NEW_IDEMPOTENCY_RECORD = NamedInsert(IdempotencyRecord)
NEW_ACTIVATION_SESSION = NamedInsert(ActivationSession)
NEW_ACTIVATION_ITEM = NamedInsert(ActivationItem)
NEW_EVENT = NamedInsert(Event)
