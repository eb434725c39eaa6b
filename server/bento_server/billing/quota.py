"""Quota windows and feature merging, as pure functions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bento_server.billing.periods import add_interval


def next_reset(
    interval: str, window_start: datetime, period_end: datetime | None
) -> datetime | None:
    """When usage counted from ``window_start`` goes back to zero.

    day: the next UTC midnight; week, month, year: one interval after the
    window's start (calendar months); billing_period: the subscription's
    period end; never: None.
    """
    if interval == "never":
        return None
    if interval == "day":
        midnight = window_start.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight + timedelta(days=1)
    if interval in ("week", "month", "year"):
        return add_interval(window_start, interval, 1)
    if interval == "billing_period":
        return period_end
    raise ValueError(f"unknown reset interval {interval!r}")


def plan_features(
    products: Iterable[tuple[str, list[dict[str, Any]]]],
) -> dict[str, dict[str, Any]]:
    """The features a plan grants, by code, from (product_id, features) pairs.

    A code several products grant is held once: the largest limit, the
    products that grant it, and the first product's name, kind and interval.
    """
    merged: dict[str, dict[str, Any]] = {}
    for product_id, features in products:
        for feature in features:
            held = merged.get(feature["code"])
            if held is None:
                merged[feature["code"]] = {**feature, "product_ids": [product_id]}
            else:
                held["limit"] = max(held["limit"], feature["limit"])
                held["product_ids"].append(product_id)
    return merged
