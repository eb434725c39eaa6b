"""A subscription's features and quota usage (the service-package seed)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import peewee

from bento_server.billing.access import decide_for
from bento_server.billing.quota import next_reset, plan_features
from bento_server.billing.statuses import EventType
from bento_server.errors import FailedPrecondition, InvalidArgument, ResourceExhausted, not_found
from bento_server.store import statements
from bento_server.store.database import Store
from bento_server.store.models import Subscription, SubscriptionFeature
from bento_server.usecases import events, scoping
from bento_server.usecases.context import Deps, Principal

log = logging.getLogger("bento.scheduler")


def _plan_features(store: Store, plan_id: str) -> dict[str, dict[str, object]]:
    rows = statements.plan_products(store, plan_id)
    return plan_features((row.product_id, row.features) for row in rows)


def _window(feature: SubscriptionFeature, sub: Subscription, start: datetime) -> None:
    feature.window_start = start
    feature.resets_at = next_reset(feature.reset_interval, start, sub.period_end)


def sync(
    deps: Deps, sub: Subscription, now: datetime, *, new: bool = False
) -> list[SubscriptionFeature]:
    """Makes the features those of the plan again (in the caller's transaction).

    Overrides go back to the plan's values and custom features are removed;
    usage of codes that stay is kept. A ``new`` subscription holds none yet.
    """
    wanted = _plan_features(deps.store, sub.plan_id)
    held = (
        {}
        if new
        else {
            f.code: f
            for f in statements.SUBSCRIPTION_FEATURES.all(deps.store, subscription_id=sub.id)
        }
    )
    for code, feature in held.items():
        if code not in wanted:
            feature.delete_instance()
    result = []
    for code, plan in wanted.items():
        feature = held.get(code) or SubscriptionFeature(
            subscription=sub.id, code=code, used=0, created_at=now
        )
        changed_interval = feature.reset_interval != plan["reset_interval"]
        feature.name = plan["name"]
        feature.kind = plan["kind"]
        feature.limit = plan["limit"]
        feature.plan_limit = plan["limit"]
        feature.reset_interval = plan["reset_interval"]
        feature.product_ids = plan["product_ids"]
        feature.source = "plan"
        feature.updated_at = now
        if feature.id is None or changed_interval:
            _window(feature, sub, now)
        feature.save()
        result.append(feature)
    return sorted(result, key=lambda f: f.code)


def list_features(
    deps: Deps, principal: Principal, subscription_id: str
) -> list[SubscriptionFeature]:
    with deps.store.read():
        sub = scoping.subscription(deps.store, principal, subscription_id)
        return list(
            SubscriptionFeature.select()
            .where(SubscriptionFeature.subscription == sub.id)
            .order_by(SubscriptionFeature.code)
        )


def sync_features(
    deps: Deps, principal: Principal, subscription_id: str
) -> list[SubscriptionFeature]:
    now = deps.clock.now()
    with deps.store.write():
        sub = scoping.subscription(deps.store, principal, subscription_id, lock=True)
        result = sync(deps, sub, now)
        _changed(deps, sub, now, "synced")
        return result


def _changed(deps: Deps, sub: Subscription, now: datetime, change: str, code: str = "") -> None:
    events.append(
        deps,
        EventType.SUBSCRIPTION_UPDATED,
        sub,
        now,
        app_ids=events.plan_app_ids(deps.store, sub.plan_id),
        data={"change": f"features_{change}", "feature_code": code},
    )


def set_feature(
    deps: Deps,
    principal: Principal,
    subscription_id: str,
    code: str,
    name: str,
    kind: str,
    limit: int,
    reset_interval: str,
) -> SubscriptionFeature:
    """Overrides a feature for one subscription, or adds one its plan lacks."""
    now = deps.clock.now()
    with deps.store.write():
        sub = scoping.subscription(deps.store, principal, subscription_id, lock=True)
        feature = SubscriptionFeature.get_or_none(
            (SubscriptionFeature.subscription == sub.id) & (SubscriptionFeature.code == code)
        )
        if feature is None:
            feature = SubscriptionFeature(
                subscription=sub.id, code=code, kind=kind, source="custom", used=0, created_at=now
            )
        elif feature.kind != kind:
            raise InvalidArgument.field(
                "feature.kind", f"the feature is {feature.kind}; its kind cannot change"
            )
        interval_changed = feature.reset_interval != reset_interval
        feature.name = name or feature.name or code
        feature.limit = limit
        feature.reset_interval = reset_interval
        if feature.product_ids:
            feature.source = "override"
        feature.updated_at = now
        if feature.id is None or interval_changed:
            _window(feature, sub, now)
        feature.save()
        _changed(deps, sub, now, "set", code)
        return cast("SubscriptionFeature", feature)


def remove_feature(
    deps: Deps, principal: Principal, subscription_id: str, code: str
) -> SubscriptionFeature:
    now = deps.clock.now()
    with deps.store.write():
        sub = scoping.subscription(deps.store, principal, subscription_id, lock=True)
        feature = SubscriptionFeature.get_or_none(
            (SubscriptionFeature.subscription == sub.id) & (SubscriptionFeature.code == code)
        )
        if feature is None:
            raise not_found("feature", code)
        feature.delete_instance()
        _changed(deps, sub, now, "removed", code)
        return cast("SubscriptionFeature", feature)


# --- usage --------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    feature: SubscriptionFeature

    @property
    def remaining(self) -> int:
        return cast("int", max(self.feature.limit - self.feature.used, 0))


def record_usage(
    deps: Deps, principal: Principal, subscription_id: str, code: str, quantity: int
) -> Usage:
    """Adds ``quantity`` (negative gives back) to a quota's usage.

    What would pass the limit is refused and records nothing. The check and
    the write are one conditional UPDATE, so concurrent uses never overshoot.
    """
    now = deps.clock.now()
    with deps.store.write():
        sub = scoping.subscription(deps.store, principal, subscription_id)
        feature = SubscriptionFeature.get_or_none(
            (SubscriptionFeature.subscription == sub.id) & (SubscriptionFeature.code == code)
        )
        if feature is None:
            raise not_found("feature", code)
        if feature.kind != "quota":
            raise InvalidArgument.field(
                "feature_code", f"{code!r} is an access feature, not a quota"
            )
        if quantity > 0:
            decision = decide_for(sub, now)
            if not decision.allowed:
                raise FailedPrecondition(
                    f"the subscription grants no access now ({decision.reason})",
                    "subscription_inactive",
                )
            updated = (
                SubscriptionFeature.update(used=SubscriptionFeature.used + quantity, updated_at=now)
                .where(
                    (SubscriptionFeature.id == feature.id)
                    & (SubscriptionFeature.used + quantity <= SubscriptionFeature.limit)
                )
                .execute()
            )
            if updated != 1:
                raise ResourceExhausted(
                    f"{code!r} would pass its limit of {feature.limit} ({feature.used} used)",
                    "quota_exceeded",
                    metadata={"limit": str(feature.limit), "used": str(feature.used)},
                )
        else:
            SubscriptionFeature.update(
                used=peewee.Case(
                    None,
                    [(SubscriptionFeature.used + quantity < 0, 0)],
                    SubscriptionFeature.used + quantity,
                ),
                updated_at=now,
            ).where(SubscriptionFeature.id == feature.id).execute()
        return Usage(SubscriptionFeature.get_by_id(feature.id))


def get_usage(deps: Deps, principal: Principal, subscription_id: str, code: str) -> list[Usage]:
    with deps.store.read():
        sub = scoping.subscription(deps.store, principal, subscription_id)
        query = SubscriptionFeature.select().where(
            (SubscriptionFeature.subscription == sub.id) & (SubscriptionFeature.kind == "quota")
        )
        if code:
            query = query.where(SubscriptionFeature.code == code)
        rows = list(query.order_by(SubscriptionFeature.code))
        if code and not rows:
            raise not_found("feature", code)
        return [Usage(row) for row in rows]


# --- resets (the billing clock) ---------------------------------------------------------


# A usage window whose reset failed, in the sweep's ``skip``: the
# subscription IDs the other kinds of work put there cannot look like this.
_SKIPPED = "usage_reset:"


def _not_skipped(skip: set[str]) -> peewee.Expression:
    skipped = [int(key[len(_SKIPPED) :]) for key in skip if key.startswith(_SKIPPED)]
    return SubscriptionFeature.id.not_in(skipped) if skipped else peewee.Value(True)


def next_reset_due(deps: Deps, skip: set[str]) -> datetime | None:
    value = (
        SubscriptionFeature.select(peewee.fn.MIN(SubscriptionFeature.resets_at))
        .where(_not_skipped(skip))
        .scalar()
    )
    return cast("datetime | None", SubscriptionFeature.resets_at.python_value(value))


def reset_usage(deps: Deps, at: datetime, skip: set[str], limit: int | None = None) -> int:
    """Sets usage back to zero where its window ended, and opens the next
    window: one window per transaction. A reset that fails is rolled back,
    logged with its subscription, and skipped until the next sweep, so the
    clock goes on with every other piece of work."""
    done = 0
    while limit is None or done < limit:
        due = [
            (row.id, row.subscription_id)
            for row in SubscriptionFeature.select(
                SubscriptionFeature.id, SubscriptionFeature.subscription
            )
            .where((SubscriptionFeature.resets_at <= at) & _not_skipped(skip))
            .order_by(SubscriptionFeature.resets_at)
            .limit(200)
        ]
        if not due:
            return done
        for feature_id, subscription_id in due:
            try:
                reset = _reset_one(deps, feature_id, at)
            except Exception:
                log.exception(
                    "usage reset of feature %s of %s failed; skipped until the next sweep",
                    feature_id,
                    subscription_id,
                )
                skip.add(f"{_SKIPPED}{feature_id}")
                continue
            done += reset
    return done


def _reset_one(deps: Deps, feature_id: int, at: datetime) -> int:
    """Resets one window if it is still due at ``at``; how many it reset (0 or 1)."""
    with deps.store.write():
        feature = SubscriptionFeature.get_or_none(
            (SubscriptionFeature.id == feature_id) & (SubscriptionFeature.resets_at <= at)
        )
        if feature is None:
            return 0
        sub = scoping.locked(deps.store, feature.subscription_id)
        window = feature.resets_at
        was = feature.used
        feature.used = 0
        feature.updated_at = window
        _window(feature, sub, window)
        ended = sub.ended_at is not None and sub.ended_at <= window
        if ended or (feature.resets_at is not None and feature.resets_at <= window):
            # An ended subscription counts nothing more; a billing-period
            # window whose period has not moved on waits for the next one.
            feature.resets_at = None
        feature.save()
        events.append(
            deps,
            EventType.USAGE_RESET,
            sub,
            window,
            data={
                "feature_code": feature.code,
                "used_before": was,
                "limit": feature.limit,
                "resets_at": events.instant_text(feature.resets_at),
            },
        )
    return 1
