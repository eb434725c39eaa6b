"""The migrations' frozen DDL against the models: a fresh database migrated
to the latest version has exactly the schema that creating every model's
table gives, on SQLite and on PostgreSQL. A model changed without a
migration fails here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bento_server.store import models
from bento_server.store.database import Store, connect
from bento_server.store.migrations import LATEST_VERSION, current_version, migrate
from tests.support import create_postgres_database, drop_postgres_database

MODELS = [
    value
    for value in vars(models).values()
    if isinstance(value, type)
    and issubclass(value, models.BaseModel)
    and value is not models.BaseModel
]

SQLITE_SCHEMA = (
    "SELECT type, name, tbl_name, sql FROM sqlite_master "
    "WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name"
)
POSTGRES_SCHEMA = {
    "columns": (
        "SELECT table_name, ordinal_position, column_name, data_type, "
        "character_maximum_length, numeric_precision, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "ORDER BY table_name, ordinal_position"
    ),
    "indexes": (
        "SELECT tablename, indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = current_schema() ORDER BY tablename, indexname"
    ),
    "constraints": (
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE connamespace = current_schema()::regnamespace "
        "ORDER BY 1, 2"
    ),
    "sequences": (
        "SELECT sequence_name, data_type FROM information_schema.sequences "
        "WHERE sequence_schema = current_schema() ORDER BY sequence_name"
    ),
}


def _schema(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every table, column with its type, nullability and default, index
    and constraint, as the database itself reports them."""
    queries = POSTGRES_SCHEMA if store.is_postgres else {"sqlite_master": SQLITE_SCHEMA}
    return {
        name: [tuple(row) for row in store.db.execute_sql(sql).fetchall()]
        for name, sql in queries.items()
    }


@pytest.fixture
def another_fresh_url(backend_url: str, tmp_path: Path) -> Iterator[str]:
    if backend_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'models.db'}"
        return
    url = create_postgres_database(backend_url, prefix="bento_models")
    yield url
    drop_postgres_database(backend_url, url)


def test_a_migrated_database_has_the_models_schema(
    fresh_backend_url: str, another_fresh_url: str
) -> None:
    store = connect(another_fresh_url)
    try:
        with store.write():
            store.db.create_tables(MODELS)
        from_models = _schema(store)
    finally:
        store.close()

    store = connect(fresh_backend_url)
    try:
        assert migrate(store) == (0, LATEST_VERSION)
        migrated = _schema(store)
    finally:
        store.close()

    assert migrated.keys() == from_models.keys()
    for name, rows in from_models.items():
        only_models = [row for row in rows if row not in migrated[name]]
        only_migrated = [row for row in migrated[name] if row not in rows]
        assert (only_models, only_migrated) == ([], []), (
            f"{name}: a model changed without a migration? "
            f"only from the models: {only_models}; only from the migrations: {only_migrated}"
        )
        # Columns in the same order too.
        assert migrated[name] == rows, name
    tables = {row[1] for row in from_models.get("sqlite_master", []) if row[0] == "table"}
    tables |= {row[0] for row in from_models.get("columns", [])}
    assert tables >= {model._meta.table_name for model in MODELS}


def test_a_store_binds_every_model() -> None:
    """``Store.bind`` binds ALL_MODELS: a model left out of it would have no
    database in a running server."""
    assert set(models.ALL_MODELS) == set(MODELS)


def test_migrating_again_changes_nothing(fresh_backend_url: str) -> None:
    store = connect(fresh_backend_url)
    try:
        migrate(store)
        before = _schema(store)
        with store.write():
            # Every step again over its own result: the tests that rebuild
            # an older database rerun steps on tables that have their columns.
            models.SchemaVersion.delete().execute()
        assert migrate(store) == (0, LATEST_VERSION)
        assert _schema(store) == before
        with store.read():
            assert current_version(store) == LATEST_VERSION
            assert models.EventLogState.select().count() == 1
    finally:
        store.close()
