"""Billing periods by calendar arithmetic in UTC.

Every boundary is computed from the subscription's anchor, never from the
previous boundary: chaining would let a clamped day stick (Jan 31 -> Feb 28
-> Mar 28) where the calendar says Mar 31.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from bento_server.errors import InvalidArgument

BILLING_UNITS = frozenset({"day", "week", "month", "year"})

_DAY_US = timedelta(days=1) // timedelta(microseconds=1)


def _utc(instant: datetime, field: str) -> datetime:
    # A naive datetime would be read as local time: refuse it rather than guess.
    if instant.tzinfo is UTC:
        return instant  # as every stored instant is read
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidArgument.field(field, "must be an aware datetime")
    return instant.astimezone(UTC)


def _add_months(anchor: datetime, months: int) -> datetime:
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def add_interval(anchor: datetime, unit: str, value: int, count: int = 1) -> datetime:
    """``anchor`` plus ``count * value`` units, in UTC, keeping the time of day.

    Months and years keep the anchor's day of month, clamped to the last day
    of a shorter month. Raises ``InvalidArgument`` for an unknown unit, a
    value below 1 or a naive anchor.
    """
    if unit not in BILLING_UNITS:
        raise InvalidArgument.field("unit", f"must be one of day, week, month, year, got {unit!r}")
    if value < 1:
        raise InvalidArgument.field("value", f"must be at least 1, got {value}")
    start = _utc(anchor, "anchor")
    steps = count * value
    if unit == "day":
        return start + timedelta(days=steps)
    if unit == "week":
        return start + timedelta(weeks=steps)
    if unit == "month":
        return _add_months(start, steps)
    return _add_months(start, 12 * steps)


def period_bounds(anchor: datetime, unit: str, value: int, index: int) -> tuple[datetime, datetime]:
    """The start and end of the ``index``-th period (0-based) from ``anchor``.

    The end of one period is the start of the next, exactly.
    """
    return (
        add_interval(anchor, unit, value, index),
        add_interval(anchor, unit, value, index + 1),
    )


def interval_days(start: datetime, end: datetime) -> int:
    """The length of the period ``start``..``end`` in days, rounded half up.

    Raises ``InvalidArgument`` when ``end`` is before ``start``.
    """
    length = _utc(end, "end") - _utc(start, "start")
    if length < timedelta(0):
        raise InvalidArgument.field("end", "must not be before start")
    days, rest = divmod(length // timedelta(microseconds=1), _DAY_US)
    return days + (1 if 2 * rest >= _DAY_US else 0)
