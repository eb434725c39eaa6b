"""The activation status rule: a session's status, and its subscription's,
from the statuses of its items (docs/rules.md)."""

from __future__ import annotations

from collections.abc import Sequence

from bento_server.billing.statuses import ActivationItemStatus as ItemStatus
from bento_server.billing.statuses import ActivationStatus


def derive_status(statuses: Sequence[str]) -> ActivationStatus:
    """A session's status from its items'; a subscription's from the items
    of all its sessions (a plan change that adds an app opens a second)."""
    if statuses and all(s == ItemStatus.ACTIVATED for s in statuses):
        return ActivationStatus.COMPLETED
    if any(s == ItemStatus.FAILED for s in statuses):
        return ActivationStatus.FAILED
    if any(s == ItemStatus.ACTIVATED for s in statuses):
        return ActivationStatus.PARTIAL
    if statuses and all(s == ItemStatus.EXPIRED for s in statuses):
        return ActivationStatus.EXPIRED
    return ActivationStatus.PENDING
