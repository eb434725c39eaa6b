"""Real stores for the tests, on a real SQLite file and (when
BENTO_TEST_POSTGRES_URL is set) on a real PostgreSQL database: `bento serve`
in a subprocess over a real channel (``server``), or the use cases in this
process on a fresh store of their own (``bento``). Every test that takes
either runs once per backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers.in_process import Bento, PostgresStores, fresh_store
from tests.support import (
    LONG,
    RunningServer,
    assert_audit_clean,
    create_postgres_database,
    drop_postgres_database,
    prepare_postgres,
    secrets_in_logs,
    start_server,
)

POSTGRES_URL_ENV = "BENTO_TEST_POSTGRES_URL"

# `make test` runs the short profile; `make test-long` the long one, with
# many more examples for every property and fuzz test.
settings.register_profile("short", max_examples=100, deadline=None)
settings.register_profile(
    "long",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("long" if LONG else "short")


# `make test` runs the two halves side by side, one process each: the
# SQLite one also runs the tests that need no store, the PostgreSQL one only
# those of its store. Unset: one process runs both.
BACKENDS_ENV = "BENTO_TEST_BACKENDS"
BACKENDS = ("sqlite", "postgresql")


def _backends() -> list[str]:
    chosen = os.environ.get(BACKENDS_ENV)
    return [chosen] if chosen in BACKENDS else list(BACKENDS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(BACKENDS_ENV) != "postgresql":
        return
    kept = [item for item in items if "backend_url" in getattr(item, "fixturenames", ())]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    length = "long run" if LONG else "short run (`make test-long` for the full one)"
    if os.environ.get(POSTGRES_URL_ENV):
        return f"bento backends: sqlite, postgresql; {length}"
    return (
        f"bento backends: sqlite only; PostgreSQL half SKIPPED ({POSTGRES_URL_ENV} is not set); "
        f"{length}"
    )


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log() -> Iterator[None]:
    """After the whole suite, every server log it made is searched for every
    credential and code the suite was handed."""
    yield
    leaks = secrets_in_logs()
    assert not leaks, "secrets in server logs:\n" + "\n".join(leaks[:20])


@pytest.fixture(scope="session", params=_backends())
def backend_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'bento.db'}"
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(
                f"{POSTGRES_URL_ENV} must be set in CI: the PostgreSQL half never skips there"
            )
        pytest.skip(f"PostgreSQL half skipped: {POSTGRES_URL_ENV} is not set")
    prepare_postgres(url)
    return url


@pytest.fixture(scope="session")
def server(backend_url: str, tmp_path_factory: pytest.TempPathFactory) -> RunningServer:
    """One test-clock server per backend for the whole session. After the
    session, `bento audit` finds every money invariant, the allocation law
    among them, kept over all it wrote."""
    running = start_server(backend_url, tmp_path_factory.mktemp("server"), test_clock=True)
    yield running
    running.stop()
    assert_audit_clean(backend_url)


@pytest.fixture
def fresh_backend_url(backend_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same backend, for tests that need one alone
    (several servers, restarts, exact counts)."""
    if backend_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'alone.db'}"
        return
    url = create_postgres_database(backend_url)
    yield url
    drop_postgres_database(backend_url, url)


@pytest.fixture(scope="session")
def postgres_stores(backend_url: str) -> Iterator[PostgresStores | None]:
    """PostgreSQL: the database the in-process tests of the run share, each
    getting it as a fresh migration leaves it; dropped after the run."""
    if not backend_url.startswith("postgresql"):
        yield None
        return
    stores = PostgresStores(backend_url)
    yield stores
    stores.close()


@pytest.fixture
def bento(
    backend_url: str, tmp_path: Path, postgres_stores: PostgresStores | None
) -> Iterator[Bento]:
    """The use cases in this process on a fresh, migrated store of the
    backend (``tests.helpers.in_process``), with a test clock: no server,
    no channel. After the test `bento audit`'s checks find every money
    invariant kept (unless the test turned ``audited`` off); then the store
    is closed."""
    with fresh_store(backend_url, tmp_path, postgres_stores) as store:
        running = Bento.on(store)
        yield running
        if running.audited:
            assert running.audit() == [], "the audit found violations"
