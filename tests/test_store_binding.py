"""The models are bound to the one open store of the process
(``Store.bind``): a second store is refused while one is open, closing
unbinds them, and the next store opened gets them."""

from __future__ import annotations

from pathlib import Path

import peewee
import pytest

from bento_server.store import models
from bento_server.store.database import connect
from bento_server.store.migrations import migrate


def test_one_store_is_bound_at_a_time(fresh_backend_url: str, tmp_path: Path) -> None:
    store = connect(fresh_backend_url)
    try:
        migrate(store)
        assert all(model._meta.database is store.db for model in models.ALL_MODELS)
        with pytest.raises(RuntimeError, match="close that store"):
            connect(f"sqlite:///{tmp_path / 'second.db'}")
        # The refused store bound nothing: the models still query the first.
        assert models.EventLogState.select().count() == 1
    finally:
        store.close()

    assert all(model._meta.database is None for model in models.ALL_MODELS)
    with pytest.raises(peewee.InterfaceError):
        models.EventLogState.select().count()

    again = connect(fresh_backend_url)
    try:
        assert models.EventLogState.select().count() == 1
    finally:
        again.close()
