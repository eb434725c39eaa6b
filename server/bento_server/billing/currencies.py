"""Currencies: the current ISO 4217 list and each currency's minor unit.

Every amount in Bento is an integer count of its currency's minor unit as
ISO 4217 defines it: cents for USD (2 decimals), yen for JPY (0 decimals,
so a JPY price of 1000 is ¥1,000), fils for BHD (3 decimals, 1/1000 of a
dinar). Tax and fees are rounded half up to a whole count of that unit,
which is always the currency's minor unit; that is why the arithmetic in
``billing.money`` stays exact and needs no per-currency scale.

ISO 4217 also lists codes with no minor unit at all (gold ``XAU``, the
IMF's ``XDR``, the testing code ``XTS``, "no currency" ``XXX``): they are
not money one can price in, so prices refuse them.
"""

from __future__ import annotations

from iso4217 import Currency


def _listed(code: str) -> Currency | None:
    # By value: exactly the upper-case code ISO writes ("usd" is not listed).
    try:
        return Currency(code)
    except ValueError:
        return None


def is_iso_4217(code: str) -> bool:
    """Whether ``code`` is on the current ISO 4217 list, as ISO writes it."""
    return _listed(code) is not None


def is_priceable(code: str) -> bool:
    """Whether prices may be in ``code``: a current ISO 4217 currency with a minor unit."""
    currency = _listed(code)
    return currency is not None and currency.exponent is not None


def minor_units(code: str) -> int:
    """How many decimals the minor unit of ``code`` has: USD 2, JPY 0, BHD 3.

    An amount of ``n`` in ``code`` is ``n / 10 ** minor_units(code)`` of its
    major unit. Raises ``ValueError`` for a code prices may not use.
    """
    currency = _listed(code)
    if currency is None:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    if currency.exponent is None:
        raise ValueError(f"{code!r} has no minor unit in ISO 4217")
    return currency.exponent
