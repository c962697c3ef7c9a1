"""The hub's HTTP API: ``/v1`` resources, auth, policies, problem+json errors.

Other parts mount routes and guard them with :func:`require_role` and the
``ensure_*`` object-level checks; errors they raise become problem+json.
"""

from storelink.api.app import create_app
from storelink.api.events import apply_order_event
from storelink.api.principal import Principal, Role
from storelink.api.problems import PROBLEM_JSON, Problem, problem_response, problem_responses
from storelink.api.security import (
    RoleGuard,
    can_see_channel,
    can_see_store,
    current_principal,
    ensure_channel_access,
    ensure_store_access,
    require_role,
    sees_pii,
)
from storelink.api.state import HubState, hub_state
from storelink.api.tokens import IssuedToken, NewClient, TokenService
from storelink.api.versioning import deprecation

__all__ = [
    "PROBLEM_JSON",
    "HubState",
    "IssuedToken",
    "NewClient",
    "Principal",
    "Problem",
    "Role",
    "RoleGuard",
    "TokenService",
    "apply_order_event",
    "can_see_channel",
    "can_see_store",
    "create_app",
    "current_principal",
    "deprecation",
    "ensure_channel_access",
    "ensure_store_access",
    "hub_state",
    "problem_response",
    "problem_responses",
    "require_role",
    "sees_pii",
]
