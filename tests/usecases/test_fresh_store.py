"""The PostgreSQL store the in-process tests share is given back to each
as a fresh migration leaves a new database: same rows, same sequences, no
trigger or function an earlier test added."""

from __future__ import annotations

from typing import Any

import pytest

from bento_server.store.database import Store, connect
from bento_server.store.migrations import migrate
from bento_server.store.models import ALL_MODELS
from tests.helpers.in_process import Bento, PostgresStores
from tests.support import create_postgres_database, drop_postgres_database, refuse_events


def _state(store: Store) -> dict[str, Any]:
    db = store.db
    return {
        "rows": {model.__name__: list(model.select().dicts()) for model in ALL_MODELS},
        "sequences": db.execute_sql(
            "SELECT sequencename, last_value FROM pg_sequences "
            "WHERE schemaname = current_schema() ORDER BY 1"
        ).fetchall(),
        "triggers": db.execute_sql(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"
        ).fetchall(),
        "functions": db.execute_sql(
            "SELECT proname FROM pg_proc "
            "WHERE pronamespace = current_schema()::regnamespace ORDER BY 1"
        ).fetchall(),
    }


def test_a_store_comes_back_as_a_new_migrated_database_is(
    backend_url: str, postgres_stores: PostgresStores | None
) -> None:
    if postgres_stores is None:
        pytest.skip("each SQLite store is a new file")
    with postgres_stores.fresh() as store:
        used = Bento.on(store)
        shop = used.shop()
        used.pay_first(shop.platform, used.subscribe(shop.platform, shop.plan_id))
        refuse_events(store, "invoice.created")
        dirty = _state(store)
    with postgres_stores.fresh() as store:
        given = _state(store)

    url = create_postgres_database(backend_url, prefix="bento_new")
    try:
        new = connect(url)
        try:
            migrate(new)
            expected = _state(new)
        finally:
            new.close()
    finally:
        drop_postgres_database(backend_url, url)
    assert dirty != expected, "the first test left nothing to take back"
    assert given == expected
