"""The `bento` command: migrate, keys create, tick, demo."""

from __future__ import annotations

from pathlib import Path

from bento.v1 import catalog_pb2, tenant_pb2
from bento_server.store.migrations import LATEST_VERSION
from tests.support import RunningServer, make_tenancy, run_cli, start_server


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = run_cli("migrate", "--database", url).stdout
    assert f"schema at version {LATEST_VERSION} (was 0)" in first
    second = run_cli("migrate", "--database", url).stdout
    assert "(up to date)" in second


def test_keys_create_prints_a_working_credential_last(server: RunningServer) -> None:
    t = make_tenancy(server)
    out = run_cli(
        "keys", "create", "--role", "platform", "--tenant", t.platform_id,
        "--database", server.database_url,
    ).stdout  # fmt: skip
    credential = out.strip().splitlines()[-1]
    key_id, secret = credential.split(":")
    assert key_id.startswith("AK") and secret
    platform = server.caller(credential)
    listed = platform(platform.catalog.ListPlans, catalog_pb2.ListPlansRequest())
    assert list(listed.plans) == []


def test_keys_create_refuses_an_unknown_tenant(server: RunningServer) -> None:
    result = run_cli(
        "keys", "create", "--role", "publisher", "--tenant", "AP404", "--database", server.database_url,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "app 'AP404' not found" in result.stderr


def test_tick_runs_once(tmp_path: Path) -> None:
    out = run_cli("tick", "--database", f"sqlite:///{tmp_path / 'tick.db'}").stdout
    assert out.startswith("ran 0 pieces of due work")


def test_demo_leaves_a_catalog_and_keys_that_work(server: RunningServer) -> None:
    out = run_cli("demo", "--database", server.database_url).stdout
    keys = dict(line.split("=", 1) for line in out.splitlines() if "_KEY=" in line)
    assert set(keys) == {"ADMIN_KEY", "PLATFORM_KEY", "STREAMFLIX_KEY", "TUNEBOX_KEY"}

    platform = server.caller(keys["PLATFORM_KEY"])
    plans = platform(platform.catalog.ListPlans, catalog_pb2.ListPlansRequest()).plans
    assert [p.name for p in plans] == ["StreamFlix + TuneBox Bundle"]
    bundle = platform(
        platform.catalog.GetPlan, catalog_pb2.GetPlanRequest(plan_id=plans[0].plan_id)
    ).plan
    assert [item.app.name for item in bundle.plan_items] == ["StreamFlix", "TuneBox"]

    publisher = server.caller(keys["STREAMFLIX_KEY"])
    products = publisher(publisher.catalog.ListProducts, catalog_pb2.ListProductsRequest()).products
    assert [p.name for p in products] == ["StreamFlix Standard"]

    admin = server.caller(keys["ADMIN_KEY"])
    assert admin(admin.tenant.ListPlatforms, tenant_pb2.ListPlatformsRequest(page_size=1)).platforms
    assert make_tenancy(server).platform_id  # the demo did not disturb the server


def _demo_lines(out: str) -> tuple[list[str], dict[str, str]]:
    """What a demo run printed: its tenants and plan, and its keys."""
    made = [line for line in out.splitlines() if line.startswith(("platform ", "app ", "plan "))]
    keys = dict(line.split("=", 1) for line in out.splitlines() if "_KEY=" in line)
    return made, keys


def test_demo_run_twice_reuses_its_demo_with_fresh_keys(
    fresh_backend_url: str, tmp_path: Path
) -> None:
    url = fresh_backend_url
    first, old_keys = _demo_lines(run_cli("demo", "--database", url).stdout)
    again = run_cli("demo", "--database", url).stdout
    assert again.startswith("(loaded by an earlier run")
    second, new_keys = _demo_lines(again)
    # The same platform, apps, products and plan; new keys.
    assert second == first and len(first) == 4
    assert set(new_keys) == set(old_keys) and not set(new_keys.values()) & set(old_keys.values())

    server = start_server(url, tmp_path, test_clock=False)
    try:
        for keys in (old_keys, new_keys):  # both runs' keys work
            platform = server.caller(keys["PLATFORM_KEY"])
            plans = platform(platform.catalog.ListPlans, catalog_pb2.ListPlansRequest()).plans
            assert [p.name for p in plans] == ["StreamFlix + TuneBox Bundle"]
            publisher = server.caller(keys["STREAMFLIX_KEY"])
            listed = publisher(publisher.catalog.ListProducts, catalog_pb2.ListProductsRequest())
            assert [p.name for p in listed.products] == ["StreamFlix Standard"]
        admin = server.caller(new_keys["ADMIN_KEY"])
        platforms = admin(admin.tenant.ListPlatforms, tenant_pb2.ListPlatformsRequest()).platforms
        assert [p.name for p in platforms] == ["Demo TV"]
        apps = admin(admin.tenant.ListApps, tenant_pb2.ListAppsRequest()).apps
        assert sorted(a.name for a in apps) == ["StreamFlix", "TuneBox"]
    finally:
        server.stop()
