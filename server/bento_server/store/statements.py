"""Named statements: the reads and writes a hot path makes on every call,
their SQL built once per kind of database and then kept as text.

Peewee builds a query's SQL anew on every execution, and for a row of
sixty columns that costs twenty times what running it does (ARCHITECTURE.md,
"Measured on this machine class"). A ``NamedSelect`` builds its query once
with a marker where each argument goes, keeps the SQL and where the
markers fell among its parameters, and from then on only substitutes the
arguments and runs it through the driver's cursor (``Store.fetch``). Rows
become model instances the way Peewee's own cursor makes them, column
values converted by their fields, so callers see no difference.
``NamedInsert`` and ``save_changes`` do the same for ``Model.create`` and
``Model.save``. The text depends only on the kind of database (its quoting
and placeholders), so that is what it is kept by.

Arguments are text (IDs): the marker is a string that no ID can be.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import peewee

from bento_server.store.database import Store

M = TypeVar("M", bound=peewee.Model)

_MARK = "\x00bento-argument-"


def _kind(store: Store) -> str:
    return "postgresql" if store.is_postgres else "sqlite"


def argument(name: str) -> str:
    """The marker of the argument ``name`` in a query being built."""
    return f"{_MARK}{name}"


class NamedSelect(Generic[M]):
    """A ``Model.select()`` query of one model, built once per database."""

    def __init__(self, model: type[M], build: Callable[[], peewee.ModelSelect]) -> None:
        self._model = model
        self._build = build
        self._built: dict[str, tuple[str, list[Any], list[peewee.Field]]] = {}
        self._lock = threading.Lock()

    def _prepared(self, store: Store) -> tuple[str, list[Any], list[peewee.Field]]:
        key = _kind(store)
        built = self._built.get(key)
        if built is None:
            with self._lock:
                query = self._build()
                sql, params = query.sql()
                fields = list(query._returning)
                for field in fields:
                    # Only plain columns of the model: what the row maps back onto.
                    assert isinstance(field, peewee.Field) and field.model is self._model
                built = (sql, list(params), fields)
                self._built[key] = built
        return built

    def first(self, store: Store, **arguments: str) -> M | None:
        """The first row for ``arguments``, as a model instance, or None."""
        sql, params, fields = self._prepared(store)
        values = tuple(
            arguments[p[len(_MARK) :]] if isinstance(p, str) and p.startswith(_MARK) else p
            for p in params
        )
        rows = store.fetch(sql, values)
        if not rows:
            return None
        data = {
            field.name: field.python_value(value)
            for field, value in zip(fields, rows[0], strict=True)
        }
        return self._model(__no_default__=1, **data)


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

    def _text(self, store: Store) -> str:
        key = _kind(store)
        sql = self._sql.get(key)
        if sql is None:
            meta = self._model._meta  # type: ignore[attr-defined]
            mark = "%s" if store.is_postgres else "?"
            columns = ", ".join(f'"{f.column_name}"' for f in self._fields)
            marks = ", ".join([mark] * len(self._fields))
            sql = f'INSERT INTO "{meta.table_name}" ({columns}) VALUES ({marks})'
            if self._auto is not None and store.is_postgres:
                sql += f' RETURNING "{self._auto.column_name}"'
            self._sql[key] = sql
        return sql

    def _filled(self, values: dict[str, Any]) -> dict[peewee.Field, Any]:
        """Every column's value: given (by field name, or a foreign key's
        ``..._id``), else its default, as Peewee fills them."""
        data: dict[peewee.Field, Any] = {}
        for field in self._fields:
            if field.name in values:
                value = values[field.name]
            elif isinstance(field, peewee.ForeignKeyField) and field.object_id_name in values:
                value = values[field.object_id_name]
            elif field.default is not None:
                value = field.default() if callable(field.default) else field.default
            else:
                value = None
            data[field] = value
        return data

    def save_new(self, store: Store, instance: M) -> None:
        """``instance.save(force_insert=True)``: a new row of an instance
        built in memory (its defaults already filled)."""
        params = tuple(field.db_value(instance.__data__.get(field.name)) for field in self._fields)
        cursor = store.execute(self._text(store), params)
        if self._auto is not None:
            instance.__data__[self._auto.name] = self._numbered(store, cursor)
        instance._dirty.clear()

    @staticmethod
    def _numbered(store: Store, cursor: Any) -> int:
        """The key the database gave the row just inserted."""
        return int(cursor.fetchone()[0] if store.is_postgres else cursor.lastrowid)

    def create(self, store: Store, **values: Any) -> M:
        filled = self._filled(values)
        data = {field.name: value for field, value in filled.items()}
        params = tuple(field.db_value(value) for field, value in filled.items())
        cursor = store.execute(self._text(store), params)
        if self._auto is not None:
            data[self._auto.name] = self._numbered(store, cursor)
        instance = self._model(__no_default__=1, **data)
        instance._dirty.clear()
        return instance


_UPDATES: dict[tuple[str, type, tuple[str, ...]], str] = {}


def save_changes(store: Store, instance: peewee.Model) -> None:
    """``instance.save()`` of a stored row: an UPDATE of the columns that
    changed (the models save only those), its text built once per database,
    model and set of columns. Nothing changed, nothing sent."""
    model = type(instance)
    meta = model._meta  # type: ignore[attr-defined]
    primary = meta.primary_key
    changed = [f for f in instance.dirty_fields if f is not primary]
    if not changed:
        return
    key = (_kind(store), model, tuple(f.name for f in changed))
    sql = _UPDATES.get(key)
    if sql is None:
        mark = "%s" if store.is_postgres else "?"
        columns = ", ".join(f'"{f.column_name}" = {mark}' for f in changed)
        sql = f'UPDATE "{meta.table_name}" SET {columns} WHERE "{primary.column_name}" = {mark}'
        _UPDATES[key] = sql
    params = [f.db_value(instance.__data__.get(f.name)) for f in changed]
    params.append(primary.db_value(instance._pk))
    store.execute(sql, tuple(params))
    instance._dirty.clear()


# --- the statements ------------------------------------------------------------------
# Imported here, below the machinery, so the models module stays free of it.
from bento_server.store.models import (  # noqa: E402
    ActivationItem,
    ActivationSession,
    Allocation,
    IdempotencyRecord,
    Invoice,
    Payment,
    Subscription,
)


def _subscription(of_platform: bool) -> Callable[[], peewee.ModelSelect]:
    def build() -> peewee.ModelSelect:
        query = Subscription.select().where(Subscription.id == argument("subscription_id"))
        if of_platform:
            query = query.where(Subscription.platform == argument("platform_id"))
        return query.limit(1)

    return build


def _invoice(of_platform: bool) -> Callable[[], peewee.ModelSelect]:
    def build() -> peewee.ModelSelect:
        query = Invoice.select().where(
            (Invoice.id == argument("invoice_id"))
            & (Invoice.subscription == argument("subscription_id"))
        )
        if of_platform:
            query = query.where(Invoice.platform == argument("platform_id"))
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

NEW_SUBSCRIPTION = NamedInsert(Subscription)
NEW_INVOICE = NamedInsert(Invoice)
NEW_PAYMENT = NamedInsert(Payment)
NEW_ALLOCATION = NamedInsert(Allocation)
NEW_IDEMPOTENCY_RECORD = NamedInsert(IdempotencyRecord)
NEW_ACTIVATION_SESSION = NamedInsert(ActivationSession)
NEW_ACTIVATION_ITEM = NamedInsert(ActivationItem)
