"""Which roles may call which RPC: the whole matrix in one place.

The interceptor enforces it after authenticating, before the servicer runs,
so a role that may never call an RPC gets PERMISSION_DENIED whatever the
request holds. Which objects a permitted caller may touch (its own
platform's plans, its own app's products) is the use cases' business: they
scope their queries by the caller's tenant.

A method missing from the matrix is refused to everyone.
"""

from __future__ import annotations

from bento_server.errors import PermissionDenied
from bento_server.usecases.context import ADMIN, PLATFORM, PUBLISHER, Principal

ANY = frozenset({ADMIN, PLATFORM, PUBLISHER})
ADMIN_ONLY = frozenset({ADMIN})
ADMIN_PLATFORM = frozenset({ADMIN, PLATFORM})
ADMIN_PUBLISHER = frozenset({ADMIN, PUBLISHER})

# service -> method -> roles; "*" covers the methods a service does not name.
MATRIX: dict[str, dict[str, frozenset[str]]] = {
    "bento.v1.TenantService": {"*": ADMIN_ONLY},
    "bento.v1.CatalogService": {
        "CreateProduct": ADMIN_PUBLISHER,
        "GetProduct": ANY,
        "ListProducts": ANY,
        "UpdateProduct": ADMIN_PUBLISHER,
        "CreatePlan": ADMIN_PLATFORM,
        "GetPlan": ANY,
        "ListPlans": ANY,
        "UpdatePlan": ADMIN_PLATFORM,
    },
    "bento.v1.TestClockService": {"*": ADMIN_ONLY},
    # Billing belongs to the platform that sells the plan.
    "bento.v1.SubscriptionService": {"*": ADMIN_PLATFORM},
    "bento.v1.InvoiceService": {"*": ADMIN_PLATFORM},
    "bento.v1.PaymentService": {"*": ADMIN_PLATFORM},
    # Every role reads the events it may see (scoped in the query).
    "bento.v1.EventService": {"*": ANY},
    # Sessions are read by their platform and by the publishers of their
    # apps; only publishers (of the code's app) exchange codes; only the
    # subscription's platform regenerates them.
    "bento.v1.ActivationService": {
        "GetActivationSession": ANY,
        "ExchangeActivationCode": ADMIN_PUBLISHER,
        "UpdateActivationItem": ANY,
        "RegenerateActivationCodes": ADMIN_PLATFORM,
    },
    # Entitlements are the platform's questions about its own users.
    "bento.v1.EntitlementService": {"*": ADMIN_PLATFORM},
    # Every role keeps endpoints for the events it may see (scoped by owner).
    "bento.v1.WebhookService": {"*": ANY},
    # Every role reads the statements of its own tenant (checked by the use
    # case: another tenant is NOT_FOUND); admins any tenant's.
    "bento.v1.SettlementService": {"*": ANY},
}


def allowed_roles(full_method: str) -> frozenset[str]:
    """The roles that may call ``/package.Service/Method``."""
    service, _, method = full_method.lstrip("/").partition("/")
    rules = MATRIX.get(service, {})
    return rules.get(method, rules.get("*", frozenset()))


def authorize(principal: Principal, full_method: str) -> None:
    if principal.role not in allowed_roles(full_method):
        method = full_method.rsplit("/", 1)[-1]
        raise PermissionDenied(f"{principal.role} keys may not call {method}")
