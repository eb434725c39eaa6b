"""`bento demo`: a small catalog and keys to try the README with.

Running it again loads nothing new: it finds the demo it loaded before (the
platform "Demo TV" selling the bundle of StreamFlix's and TuneBox's demo
products) and prints fresh keys for it, so a second run in the README's
walk-through still works and leaves no second demo platform behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from bento_server.store.models import ApiKey, App, Plan, PlanProduct, Platform, Product
from bento_server.usecases import catalog, tenants
from bento_server.usecases.catalog_specs import (
    BillingFrequency,
    Feature,
    Localization,
    PhaseSpec,
    PlanSpec,
    Price,
    ProductSpec,
)
from bento_server.usecases.context import ADMIN, PLATFORM, PUBLISHER, Deps, Principal

_CLI = Principal("cli", ADMIN, None)
PLATFORM_NAME = "Demo TV"
BUNDLE_NAME = "StreamFlix + TuneBox Bundle"
FLIX_PRODUCT = "streamflix_standard"
TUNES_PRODUCT = "tunebox_premium"


@dataclass(frozen=True)
class _Demo:
    platform: Platform
    flix: App
    tunes: App
    flix_product: Product
    tunes_product: Product
    bundle: Plan


def _loaded_before(deps: Deps) -> _Demo | None:
    """The demo an earlier run loaded: the oldest platform of its name whose
    bundle holds the two demo products."""
    bundles = (
        Plan.select()
        .join(Platform)
        .where((Platform.name == PLATFORM_NAME) & (Plan.name == BUNDLE_NAME))
        .order_by(Plan.id)
    )
    for bundle in bundles:
        products = {
            product.internal_id: product
            for product in Product.select()
            .join(PlanProduct, on=(PlanProduct.product == Product.id))
            .where(PlanProduct.plan == bundle.id)
        }
        flix, tunes = products.get(FLIX_PRODUCT), products.get(TUNES_PRODUCT)
        if flix is not None and tunes is not None:
            return _Demo(
                Platform.get_by_id(bundle.platform_id),
                App.get_by_id(flix.app_id),
                App.get_by_id(tunes.app_id),
                flix,
                tunes,
                bundle,
            )
    return None


def load_demo(deps: Deps) -> list[str]:
    """Creates one platform, two apps with a product each and a bundle, or
    finds them made by an earlier run, and issues a key per role.

    Returns the lines to print: the demo's tenants and catalog and a
    credential per role.
    """
    # One transaction under a lock: two runs at once load one demo.
    with deps.store.write():
        deps.store.lock("bento.demo")
        demo = _loaded_before(deps)
        again = demo is not None
        if demo is None:
            demo = _create(deps)
        lines = _keys(deps, demo)
    note = ["(loaded by an earlier run: the same demo, new keys)", ""] if again else []
    return note + lines


def _create(deps: Deps) -> _Demo:
    platform = tenants.create_platform(deps, _CLI, PLATFORM_NAME, 0.15, False)
    flix = tenants.create_app(
        deps, _CLI, "StreamFlix", "https://streamflix.example/activate?code={code}"
    )
    tunes = tenants.create_app(deps, _CLI, "TuneBox", "https://tunebox.example/redeem/{code}")
    flix_product = catalog.create_product(
        deps,
        _CLI,
        flix.id,
        ProductSpec(
            name="StreamFlix Standard",
            internal_id=FLIX_PRODUCT,
            product_type="streaming",
            features=(
                Feature("hd_video", "HD video"),
                Feature("downloads", "Downloads per month", "quota", 25, "month"),
            ),
            prices={"US": Price(999, "USD", "999")},
            price_wholesale=Price(456, "USD"),
            localizations={"en-us": Localization("StreamFlix", "Films and series")},
        ),
    )
    tunes_product = catalog.create_product(
        deps,
        _CLI,
        tunes.id,
        ProductSpec(
            name="TuneBox Premium",
            internal_id=TUNES_PRODUCT,
            product_type="music",
            features=(Feature("ad_free_music", "Ad-free music"),),
            prices={"US": Price(899, "USD", "899")},
            localizations={"en-us": Localization("TuneBox", "Music without ads")},
        ),
    )
    bundle = catalog.create_plan(
        deps,
        _CLI,
        platform.id,
        PlanSpec(
            name=BUNDLE_NAME,
            plan_type="bundle",
            billing_frequency=BillingFrequency("month", 1),
            grace_period_days=7,
            prices={
                "US": (
                    PhaseSpec(1, 3, Price(999, "USD", "999")),
                    PhaseSpec(2, None, Price(1699, "USD", "1699")),
                )
            },
            localizations={"en-us": Localization("StreamFlix + TuneBox", "Films and music")},
            product_ids=(flix_product.id, tunes_product.id),
            can_pause=True,
        ),
    )
    return _Demo(platform, flix, tunes, flix_product, tunes_product, bundle.plan)


def _keys(deps: Deps, demo: _Demo) -> list[str]:
    def key(role: str, tenant: str | None, description: str) -> str:
        issued = tenants.create_api_key(deps, _CLI, role, tenant or "", description)
        row: ApiKey = issued.row
        return f"{row.id}:{issued.secret}"

    admin = key(ADMIN, None, "demo admin")
    platform_key = key(PLATFORM, demo.platform.id, "demo platform")
    flix_key = key(PUBLISHER, demo.flix.id, "demo publisher StreamFlix")
    tunes_key = key(PUBLISHER, demo.tunes.id, "demo publisher TuneBox")
    return [
        f"platform   {demo.platform.id}  {PLATFORM_NAME} (fee 15%)",
        f"app        {demo.flix.id}  StreamFlix, product {demo.flix_product.id}",
        f"app        {demo.tunes.id}  TuneBox, product {demo.tunes_product.id}",
        f"plan       {demo.bundle.id}  {BUNDLE_NAME} (US: 9.99 x3, then 16.99)",
        "",
        "credentials (KEY_ID:SECRET; send as 'authorization: Basic base64(KEY_ID:SECRET)'):",
        f"ADMIN_KEY={admin}",
        f"PLATFORM_KEY={platform_key}",
        f"STREAMFLIX_KEY={flix_key}",
        f"TUNEBOX_KEY={tunes_key}",
    ]
