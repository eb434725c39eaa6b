"""`bento demo`: a small catalog and keys to try the README with."""

from __future__ import annotations

from bento_server import ids
from bento_server.store.models import ApiKey
from bento_server.usecases import catalog, tenants
from bento_server.usecases.context import ADMIN, PLATFORM, PUBLISHER, Deps, Principal

_CLI = Principal("cli", ADMIN, None)


def _feature(
    code: str, name: str, kind: str = "access", limit: int = 0, reset: str = "never"
) -> dict:
    return {"code": code, "name": name, "kind": kind, "limit": limit, "reset_interval": reset}


def load_demo(deps: Deps) -> list[str]:
    """Creates one platform, two apps with a product each, a bundle and keys.

    Returns the lines to print: what was made and a credential per role.
    """
    platform = tenants.create_platform(deps, _CLI, "Demo TV", 0.15, False)
    flix = tenants.create_app(
        deps, _CLI, "StreamFlix", "https://streamflix.example/activate?code={code}"
    )
    tunes = tenants.create_app(deps, _CLI, "TuneBox", "https://tunebox.example/redeem/{code}")
    flix_product = catalog.create_product(
        deps,
        _CLI,
        flix.id,
        {
            "name": "StreamFlix Standard",
            "internal_id": "streamflix_standard",
            "product_type": "streaming",
            "features": [
                _feature("hd_video", "HD video"),
                _feature("downloads", "Downloads per month", "quota", 25, "month"),
            ],
            "prices": {"US": {"price_in_cents": 999, "currency_code": "USD", "tier_id": "999"}},
            "price_wholesale": {"price_in_cents": 456, "currency_code": "USD", "tier_id": ""},
            "localizations": {
                "en-us": {"display_name": "StreamFlix", "description": "Films and series"}
            },
        },
    )
    tunes_product = catalog.create_product(
        deps,
        _CLI,
        tunes.id,
        {
            "name": "TuneBox Premium",
            "internal_id": "tunebox_premium",
            "product_type": "music",
            "features": [_feature("ad_free_music", "Ad-free music")],
            "prices": {"US": {"price_in_cents": 899, "currency_code": "USD", "tier_id": "899"}},
            "localizations": {
                "en-us": {"display_name": "TuneBox", "description": "Music without ads"}
            },
        },
    )
    bundle = catalog.create_plan(
        deps,
        _CLI,
        platform.id,
        {
            "name": "StreamFlix + TuneBox Bundle",
            "plan_type": "bundle",
            "billing_unit": "month",
            "billing_value": 1,
            "free_trial_days": 0,
            "grace_period_days": 7,
            "prices": {
                "US": [
                    {
                        "phase_id": ids.new_plan_id(),
                        "order": 1,
                        "billing_cycles": 3,
                        "price": {"price_in_cents": 999, "currency_code": "USD", "tier_id": "999"},
                    },
                    {
                        "phase_id": ids.new_plan_id(),
                        "order": 2,
                        "billing_cycles": None,
                        "price": {
                            "price_in_cents": 1699,
                            "currency_code": "USD",
                            "tier_id": "1699",
                        },
                    },
                ]
            },
            "localizations": {
                "en-us": {"display_name": "StreamFlix + TuneBox", "description": "Films and music"}
            },
            "can_pause": True,
        },
        [flix_product.id, tunes_product.id],
    )

    def key(role: str, tenant: str | None, description: str) -> str:
        issued = tenants.create_api_key(deps, _CLI, role, tenant or "", description)
        row: ApiKey = issued.row
        return f"{row.id}:{issued.secret}"

    admin = key(ADMIN, None, "demo admin")
    platform_key = key(PLATFORM, platform.id, "demo platform")
    flix_key = key(PUBLISHER, flix.id, "demo publisher StreamFlix")
    tunes_key = key(PUBLISHER, tunes.id, "demo publisher TuneBox")
    return [
        f"platform   {platform.id}  Demo TV (fee 15%)",
        f"app        {flix.id}  StreamFlix, product {flix_product.id}",
        f"app        {tunes.id}  TuneBox, product {tunes_product.id}",
        f"plan       {bundle.plan.id}  StreamFlix + TuneBox Bundle (US: 9.99 x3, then 16.99)",
        "",
        "credentials (KEY_ID:SECRET; send as 'authorization: Basic base64(KEY_ID:SECRET)'):",
        f"ADMIN_KEY={admin}",
        f"PLATFORM_KEY={platform_key}",
        f"STREAMFLIX_KEY={flix_key}",
        f"TUNEBOX_KEY={tunes_key}",
    ]
