"""Who is calling, and which nodes they reach.

Nodes form a tree. Each node stores `path`: the ids from the root down to itself. An integration
reaches its own node and every descendant: node N is reachable when the integration's node id is
on N's path. A payment copies its node's path when it is created (nodes never move).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from payments_core.errors import Forbidden


class Principal(NamedTuple):
    actor_type: str  # "integration" | "app_key" (NoRamp's app API) | "payer" (the widget)
    actor_id: str  # the integration's client id, the key's id, the payment's id
    node_id: str  # an integration's node ("" for an app key: it reaches its app only)
    app_id: str | None = None  # an app key's app


def reaches(principal: Principal, node_path: Sequence[str]) -> bool:
    return principal.node_id in node_path


def ensure_reaches(principal: Principal, node_path: Sequence[str], what: str = "node") -> None:
    if not reaches(principal, node_path):
        raise Forbidden(
            f"This integration's node does not have access to the {what}",
            code="node_access_denied",
        )
