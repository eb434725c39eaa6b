"""Billing periods: calendar arithmetic in UTC from the anchor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bento_server.billing.periods import add_interval, interval_days, period_bounds
from bento_server.errors import InvalidArgument


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_month_from_jan_31_ends_on_the_last_day_of_february() -> None:
    assert add_interval(utc(2028, 1, 31, 9, 30), "month", 1) == utc(2028, 2, 29, 9, 30)
    assert add_interval(utc(2027, 1, 31, 9, 30), "month", 1) == utc(2027, 2, 28, 9, 30)


def test_months_are_counted_from_the_anchor_not_chained() -> None:
    anchor = utc(2027, 1, 31, 12)
    assert add_interval(anchor, "month", 1, 2) == utc(2027, 3, 31, 12)
    assert add_interval(anchor, "month", 2) == utc(2027, 3, 31, 12)
    assert add_interval(anchor, "month", 1, 3) == utc(2027, 4, 30, 12)
    assert period_bounds(anchor, "month", 1, 1) == (utc(2027, 2, 28, 12), utc(2027, 3, 31, 12))


def test_months_cross_the_year() -> None:
    assert add_interval(utc(2027, 11, 30), "month", 3) == utc(2028, 2, 29)
    assert add_interval(utc(2027, 12, 15), "month", 1, 13) == utc(2029, 1, 15)
    assert add_interval(utc(2027, 12, 15), "month", 1, 0) == utc(2027, 12, 15)


def test_years_from_a_leap_day() -> None:
    leap_day = utc(2028, 2, 29, 8)
    assert add_interval(leap_day, "year", 1) == utc(2029, 2, 28, 8)
    assert add_interval(leap_day, "year", 1, 4) == utc(2032, 2, 29, 8)
    assert add_interval(leap_day, "year", 2, 2) == utc(2032, 2, 29, 8)


def test_days_and_weeks() -> None:
    anchor = utc(2027, 2, 25, 23, 59)
    assert add_interval(anchor, "day", 1) == utc(2027, 2, 26, 23, 59)
    assert add_interval(anchor, "day", 7, 2) == utc(2027, 3, 11, 23, 59)
    assert add_interval(anchor, "week", 1) == utc(2027, 3, 4, 23, 59)
    assert add_interval(anchor, "week", 2, 3) == utc(2027, 4, 8, 23, 59)  # 42 days


def test_other_time_zones_are_read_as_utc() -> None:
    # 01:00 on Mar 1 at +02:00 is 23:00 on Feb 28 in UTC: the month is February's.
    anchor = datetime(2027, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert add_interval(anchor, "month", 1) == utc(2027, 3, 28, 23)
    assert add_interval(anchor, "month", 1).tzinfo is UTC


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((utc(2027, 1, 1), "fortnight", 1), "unit"),
        ((utc(2027, 1, 1), "month", 0), "value"),
        ((datetime(2027, 1, 1), "month", 1), "anchor"),
    ],
)
def test_invalid_intervals_are_refused(args: tuple[datetime, str, int], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        add_interval(*args)
    assert [v.field for v in caught.value.field_violations] == [field]


def test_interval_days() -> None:
    assert interval_days(utc(2027, 4, 1), utc(2027, 5, 1)) == 30
    assert interval_days(utc(2027, 2, 1), utc(2027, 3, 1)) == 28
    assert interval_days(utc(2028, 2, 1), utc(2028, 3, 1)) == 29
    assert interval_days(utc(2027, 1, 1), utc(2028, 1, 1)) == 365
    assert interval_days(utc(2027, 1, 1), utc(2027, 1, 1)) == 0
    assert interval_days(utc(2027, 1, 1), utc(2027, 1, 1, 11, 59)) == 0
    assert interval_days(utc(2027, 1, 1), utc(2027, 1, 1, 12)) == 1
    assert interval_days(utc(2027, 1, 1), utc(2027, 1, 3, 11, 59)) == 2


def test_interval_days_refuses_a_backwards_period() -> None:
    with pytest.raises(InvalidArgument):
        interval_days(utc(2027, 1, 2), utc(2027, 1, 1))


anchors = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
)
units = st.sampled_from(["day", "week", "month", "year"])


@given(
    anchor=anchors,
    unit=units,
    value=st.integers(min_value=1, max_value=12),
    index=st.integers(min_value=0, max_value=120),
)
def test_periods_tile_time(anchor: datetime, unit: str, value: int, index: int) -> None:
    start, end = period_bounds(anchor, unit, value, index)
    next_start, next_end = period_bounds(anchor, unit, value, index + 1)
    assert end == next_start
    assert start < end < next_end
    assert start.time() == anchor.time()
    if unit in ("month", "year"):
        assert start.day == anchor.day or start.day < anchor.day >= 29
    if index == 0:
        assert start == anchor


@given(anchor=anchors, months=st.integers(min_value=1, max_value=24))
def test_month_periods_last_between_28_and_31_days_each(anchor: datetime, months: int) -> None:
    start, end = period_bounds(anchor, "month", 1, months)
    assert 28 <= interval_days(start, end) <= 31
