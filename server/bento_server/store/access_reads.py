"""The reads made on every call: the caller's API key, and CheckAccess's.

Raw SQL through the driver's cursor (``Store.fetch``), its text built once
per store: Peewee's query building costs ten times these indexed reads. On
PostgreSQL CheckAccess's reads go through a connection the event loop
drives (``store.loop_connection``), prepared, and the subscriptions of
concurrent checks are read together (``AccessReads.subscriptions_of_many``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import peewee

from bento_server.store.database import Store
from bento_server.store.loop_connection import LoopConnection

KeyRow = tuple[Any, ...]
"""An API key's (role, tenant_id, secret_hash, revoked_at)."""


class KeyReads:
    """An API key's row, as the credential check of every call reads it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        param = store.db.param
        self._sql = (
            f"SELECT role, tenant_id, secret_hash, revoked_at FROM api_key WHERE id = {param}"
        )

    def key(self, key_id: str) -> KeyRow | None:
        rows = self._store.fetch(self._sql, (key_id,))
        return rows[0] if rows else None

    def unrevoked(self, key_ids: Sequence[str]) -> set[str]:
        """Those of ``key_ids`` that exist and are not revoked."""
        if not key_ids:
            return set()
        param = self._store.db.param
        rows = self._store.fetch(
            f"SELECT id FROM api_key WHERE revoked_at IS NULL AND id IN "
            f"({', '.join([param] * len(key_ids))})",
            tuple(key_ids),
        )
        return {row[0] for row in rows}


AccessKey = tuple[str, str, str, str]
"""(platform_id, session_id, product_id, feature_code); one of the last two is ""."""

AccessRow = tuple[Any, ...]
"""A subscription as an access check decides on it: (id, plan_id, status,
payment_status, period_end, grace_period_end, ended_at), instants as
stored (microseconds)."""


class AccessReads:
    """CheckAccess's reads, their SQL built once per store."""

    _COLUMNS = (
        "s.id, s.plan_id, s.status, s.payment_status, s.period_end, s.grace_period_end, s.ended_at"
    )
    _BY_PRODUCT = "JOIN plan_product pp ON pp.plan_id = s.plan_id AND pp.product_id = {target}"
    _BY_FEATURE = "JOIN subscription_feature f ON f.subscription_id = s.id AND f.code = {target}"
    _FREE_BY_PRODUCT = (
        "SELECT p.id FROM plan p JOIN plan_product pp ON pp.plan_id = p.id "
        "WHERE p.platform_id = {0} AND p.free = {1} AND p.status = 'active' "
        "AND pp.product_id = {2} LIMIT 1"
    )
    # Product features are JSON with sorted keys and no spaces, so a
    # feature's code appears as "code":"<code>".
    _FREE_BY_FEATURE = (
        "SELECT p.id FROM plan p JOIN plan_product pp ON pp.plan_id = p.id "
        "JOIN product pr ON pr.id = pp.product_id "
        "WHERE p.platform_id = {0} AND p.free = {1} AND p.status = 'active' "
        "AND pr.features LIKE {2} ESCAPE '\\' LIMIT 1"
    )

    def __init__(self, store: Store) -> None:
        self._store = store
        p = store.db.param
        one = f"SELECT {self._COLUMNS} FROM subscription s {{join}} "
        one += f"WHERE s.platform_id = {p} AND s.session_id = {p}"
        self._by_product = one.format(join=self._BY_PRODUCT.format(target=p))
        self._by_feature = one.format(join=self._BY_FEATURE.format(target=p))
        self._free_by_product = self._FREE_BY_PRODUCT.format(p, p, p)
        self._free_by_feature = self._FREE_BY_FEATURE.format(p, p, p)

        # PostgreSQL: the batched forms, one row of input per check, answered
        # by number; and the free plans' reads, all prepared.
        self._loop: LoopConnection | None = None
        if isinstance(store.db, peewee.PostgresqlDatabase):
            many = (
                f"SELECT q.n, {self._COLUMNS} FROM unnest($1::text[], $2::text[], $3::text[]) "
                "WITH ORDINALITY AS q(platform_id, session_id, target, n) "
                "JOIN subscription s "
                "ON s.platform_id = q.platform_id AND s.session_id = q.session_id "
            )
            arrays = "text[], text[], text[]"
            free = "text, boolean, text"
            by_product = self._BY_PRODUCT.format(target="q.target")
            by_feature = self._BY_FEATURE.format(target="q.target")
            self._loop = LoopConnection(
                store.db,
                {
                    "access_by_product": (arrays, many + by_product),
                    "access_by_feature": (arrays, many + by_feature),
                    "free_by_product": (free, self._FREE_BY_PRODUCT.format("$1", "$2", "$3")),
                    "free_by_feature": (free, self._FREE_BY_FEATURE.format("$1", "$2", "$3")),
                },
            )

    async def subscriptions(self, key: AccessKey) -> list[AccessRow]:
        """The user's subscriptions that hold the product or feature, read
        on the calling thread (SQLite answers in microseconds)."""
        platform_id, session_id, product_id, feature_code = key
        # In the order of the SQL's parameters: the join's target comes first.
        if product_id:
            sql, args = self._by_product, (product_id, platform_id, session_id)
        else:
            sql, args = self._by_feature, (feature_code, platform_id, session_id)
        return self._store.fetch(sql, args)

    async def subscriptions_of_many(self, keys: Sequence[AccessKey]) -> list[list[AccessRow]]:
        """``subscriptions`` for many checks at once (PostgreSQL): at most
        two queries, whatever the number of keys."""
        assert self._loop is not None, "batched reads are for PostgreSQL"
        found: list[list[AccessRow]] = [[] for _ in keys]
        for statement, wanted in (
            ("access_by_product", [(n, k) for n, k in enumerate(keys) if k[2]]),
            ("access_by_feature", [(n, k) for n, k in enumerate(keys) if not k[2]]),
        ):
            if not wanted:
                continue
            columns = (
                [k[0] for _, k in wanted],
                [k[1] for _, k in wanted],
                [k[2] or k[3] for _, k in wanted],
            )
            for row in await self._loop.execute(statement, columns):
                found[wanted[row[0] - 1][0]].append(row[1:])
        return found

    async def free_plan(self, platform_id: str, product_id: str, feature_code: str) -> str:
        """An active free plan of the platform that holds the product or
        feature, or ""."""
        if product_id:
            name, sql, target = "free_by_product", self._free_by_product, product_id
        else:
            escaped = feature_code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            name, sql, target = "free_by_feature", self._free_by_feature, f'%"code":"{escaped}"%'
        args = (platform_id, True, target)
        if self._loop is not None:
            rows = await self._loop.execute(name, args)
        else:
            rows = self._store.fetch(sql, args)
        return str(rows[0][0]) if rows else ""
