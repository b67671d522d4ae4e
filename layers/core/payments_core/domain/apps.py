"""NoRamp's apps: who reaches which app (every app-scoped route starts here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from payments_core.domain.access import Principal, reaches
from payments_core.domain.entities import App
from payments_core.errors import NotFound

if TYPE_CHECKING:
    from payments_core.domain.stores import CatalogStore

DELETED = "deleted"


def can_reach(principal: Principal, app: App) -> bool:
    """An app key reaches its own app only; an integration the apps of the nodes it reaches."""
    if principal.app_id is not None:
        return principal.app_id == app.id
    return principal.actor_type == "integration" and reaches(principal, app.node_path)


def reach_app(catalog: CatalogStore, principal: Principal, app_id: str) -> App:
    """The app `app_id` as `principal` may use it; 404 `app_not_found` for no such app, a deleted one, or one
    the caller does not reach (indistinguishable: an app's existence is not told to who cannot see it)."""
    app = catalog.get(App, app_id) if app_id.startswith("app_") else None
    if app is None or app.status == DELETED or not can_reach(principal, app):
        raise NotFound("No such app", code="app_not_found")
    return app
