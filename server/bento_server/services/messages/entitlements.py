"""Quota usage as the API answers it."""

from __future__ import annotations

from bento.v1 import entitlement_pb2
from bento_server.services.convert import timestamp
from bento_server.services.messages.enums import RESET_INTERVALS
from bento_server.usecases import features


def usage_pb(usage: features.Usage) -> entitlement_pb2.FeatureUsage:
    f = usage.feature
    return entitlement_pb2.FeatureUsage(
        feature_code=f.code,
        name=f.name,
        limit=f.limit,
        used=f.used,
        remaining=usage.remaining,
        reset_interval=RESET_INTERVALS.number(f.reset_interval),
        resets_at=timestamp(f.resets_at),
    )
