"""`bento statements`: a month's statements, from a read-only store.

The same statements GetStatement answers (``usecases.statements.statement``
computes both), for every platform and app with allocations in the month,
or for one tenant, once per currency. Opened like `bento audit`: nothing
can be written, and every statement is read in one snapshot, so a server
may keep serving meanwhile.

CSV: a header, then a row per statement line, each amount twice: in minor
units, and as a decimal with the currency's minor unit digits (``gross``
1848 and ``gross_decimal`` 18.48 in USD). JSON: a list of ``Statement``
messages in the protobuf JSON mapping, exactly as GetStatement answers them.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TextIO

from google.protobuf import json_format

from bento_server import audit
from bento_server.billing import currencies
from bento_server.services.messages.settlement import statement_pb
from bento_server.usecases import statements
from bento_server.usecases.context import ADMIN, Principal
from bento_server.usecases.statements import MONEY, Period, Statement

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_CLI = Principal("cli", ADMIN, None)

CSV_COLUMNS = [
    "tenant_id",
    "currency",
    "period_start",
    "period_end",
    "counterpart_id",
    "plan_id",
    "product_id",
    "cycles",
    *(column for name in MONEY for column in (name, f"{name}_decimal")),
]


def parse_month(text: str) -> Period:
    """``YYYY-MM`` as the calendar month in UTC; ValueError otherwise."""
    match = _MONTH.match(text)
    if match is not None:
        try:
            return statements.month(int(match.group(1)), int(match.group(2)))
        except ValueError:
            pass
    raise ValueError(f"a month is YYYY-MM, such as 2026-03, not {text!r}")


def collect(database_url: str, period: Period, tenant_id: str = "") -> list[Statement]:
    """The period's statements: one tenant's (one per currency), or every
    tenant's with allocations in it, platforms first."""
    store = audit.open_read_only(database_url)
    try:
        with audit.snapshot(store):
            if tenant_id:
                # As over the wire for an admin: a bad or unknown ID is an error.
                tenant = statements.visible_tenant(_CLI, tenant_id)
                wanted = [
                    statements.Active(tenant, currency)
                    for currency in statements.currencies(tenant, period)
                ]
            else:
                wanted = statements.active(period)
            return [statements.statement(a.tenant, a.currency, period) for a in wanted]
    finally:
        store.close()


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def decimal(amount: int, currency: str) -> str:
    """Minor units as a decimal of the major unit: 1848 USD is "18.48"."""
    digits = currencies.minor_units(currency)
    return f"{Decimal(amount).scaleb(-digits):.{digits}f}"


def write_csv(found: Iterable[Statement], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for statement in found:
        for line in statement.lines:
            amounts = line.amounts
            row: list[object] = [
                statement.tenant_id,
                statement.currency,
                _instant(statement.period.start),
                _instant(statement.period.end),
                line.counterpart_id,
                line.plan_id,
                line.product_id,
                amounts.cycles,
            ]
            for name in MONEY:
                value = getattr(amounts, name)
                row += [value, decimal(value, statement.currency)]
            writer.writerow(row)


def write_json(found: Iterable[Statement], out: TextIO) -> None:
    listed = [json_format.MessageToDict(statement_pb(statement)) for statement in found]
    json.dump(listed, out, indent=2)
    out.write("\n")
