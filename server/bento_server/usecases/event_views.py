"""What each role sees of an event: one rule for ListEvents, WatchEvents and
everything else that hands events out (docs/rules.md, "What each role
sees of an event").

Admin and platform keys see their events whole. A publisher key sees only
subscription and activation events of plans that include its app, and the
events about its own app's webhook endpoints, and of each only an
allow-list: the IDs of the event, subscription, plan and activation
session; the subscription's status, activation status, period, trial and
cancellation; its own app's activation items; its endpoint's ID and why it
was disabled. Everything else
(session ID, platform, money, device, metadata, other apps' items) is left
out. An allow-list rather than a deny-list, so that a field added to a
snapshot later stays hidden from publishers until someone decides otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bento_server.billing.statuses import EventType
from bento_server.store.models import Event
from bento_server.usecases.context import PUBLISHER, Principal

# The only event types a publisher sees: never invoice, payment or usage data.
PUBLISHER_TYPES = frozenset(
    t for t in EventType if t.startswith(("subscription.", "activation.", "webhook_endpoint."))
)

# Of the subscription snapshot (events.subscription_snapshot).
_SUBSCRIPTION_KEYS = frozenset(
    {
        "subscription_id",
        "plan_id",
        "status",
        "activation_status",
        "activation_session_id",
        "period_start",
        "period_end",
        "trial_end",
        "cancel_at_period_end",
        "canceled_at",
        "ended_at",
        "end_reason",
    }
)
# Of an activation session's items, and of an activation item.
_ITEM_KEYS = frozenset({"app_id", "product_id", "status", "jti", "user_id", "error_reason"})
# Of a webhook endpoint (events.endpoint_snapshot): never its URL or secrets.
_ENDPOINT_KEYS = frozenset({"endpoint_id", "disabled", "disabled_reason"})
# Words about the change itself that hold no money and no other party's data.
_CHANGE_KEYS = frozenset(
    {"status", "reason", "change", "cancel_now", "session_status", "from_plan_id"}
)


@dataclass(frozen=True)
class EventView:
    """An event as one caller may see it."""

    sequence: int
    event_id: str
    type: str
    occurred_at: datetime
    subscription_id: str = ""
    session_id: str = ""
    plan_id: str = ""
    platform_id: str = ""
    invoice_id: str = ""
    payment_id: str = ""
    activation_session_id: str = ""
    app_ids: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def app_of(principal: Principal) -> str | None:
    """The app whose view ``principal`` gets; None for the whole event."""
    return principal.tenant_id if principal.role == PUBLISHER else None


def whole(row: Event) -> EventView:
    return EventView(
        sequence=row.sequence,
        event_id=row.event_id,
        type=row.type,
        occurred_at=row.occurred_at,
        subscription_id=row.subscription_id or "",
        session_id=row.session_id or "",
        plan_id=row.plan_id or "",
        platform_id=row.platform_id or "",
        invoice_id=row.invoice_id or "",
        payment_id=row.payment_id or "",
        activation_session_id=row.activation_session_id or "",
        app_ids=list(row.app_ids),
        data=row.data,
    )


def for_app(row: Event, app_id: str) -> EventView:
    """The publisher of ``app_id``'s copy of an event it may see."""
    data = row.data
    seen: dict[str, Any] = {k: data[k] for k in _CHANGE_KEYS if k in data}
    if isinstance(data.get("subscription"), dict):
        seen["subscription"] = {
            k: v for k, v in data["subscription"].items() if k in _SUBSCRIPTION_KEYS
        }
    session = data.get("activation_session")
    if isinstance(session, dict):
        seen["activation_session"] = {
            "activation_session_id": session.get("activation_session_id"),
            "status": session.get("status"),
            "items": [_item(i) for i in session.get("items", ()) if i.get("app_id") == app_id],
        }
    item = data.get("activation_item")
    if isinstance(item, dict) and item.get("app_id") == app_id:
        seen["activation_item"] = _item(item)
    endpoint = data.get("webhook_endpoint")
    if isinstance(endpoint, dict):
        seen["webhook_endpoint"] = {k: v for k, v in endpoint.items() if k in _ENDPOINT_KEYS}
    return EventView(
        sequence=row.sequence,
        event_id=row.event_id,
        type=row.type,
        occurred_at=row.occurred_at,
        subscription_id=row.subscription_id or "",
        plan_id=row.plan_id or "",
        activation_session_id=row.activation_session_id or "",
        app_ids=[app_id] if app_id in row.app_ids else [],
        data=seen,
    )


def _item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in _ITEM_KEYS}


def seen_by(principal: Principal, row: Event) -> EventView:
    """``row`` as ``principal`` may see it (it must be one of its events)."""
    return seen_as(row, app_of(principal))


def seen_as(row: Event, app_id: str | None) -> EventView:
    """``row`` in the view ``app_of`` names: whole for None, else the
    publisher of ``app_id``'s copy. Callers that hand one event to many
    callers build each view once, keyed by ``app_of``."""
    return whole(row) if app_id is None else for_app(row, app_id)
