"""NoRamp's apps and their API keys: who reaches which app (every app-scoped route starts with `reach_app`),
the app routes' decisions, and `app_view`, the app object every answer embeds.

Permissions (`app_view`), for a caller who reaches the app (any other is answered 404 `app_not_found`):
- the app's own API key: `can_view` only (a key reads its app; it never changes it, nor its keys);
- an integration of the app's node, or of a node above it: everything (`can_view`, `can_edit`, `can_delete`,
  `can_edit_members`).
`is_member`: the caller belongs to the app itself: the app's own key, or an integration of the app's own node.
An integration of a node above reaches and manages the app (the tree's rule) without being one of its members.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from payments_core.domain.access import Principal, ensure_reaches, reaches
from payments_core.domain.entities import App, AppKey, AppOwner, Integration, Node, Theme, ThemeColors
from payments_core.domain.stores import StaleWrite
from payments_core.errors import Conflict, NotFound, ValidationFailed, field_error

if TYPE_CHECKING:
    from payments_core.domain.stores import CatalogStore
    from payments_core.models.apps import (
        AppKeyCreated,
        AppKeyList,
        AppKeyResponse,
        AppResponse,
        CreateAppRequest,
        ThemeIn,
        UpdateAppRequest,
    )

DELETED = "deleted"
ACTIVE_KEY = "active"
REVOKED_KEY = "revoked"
APP_TYPES = ("individual", "marketplace")
APP_STATUSES = ("draft", "submitted", "active", "disabled", "deleted")
MAX_KEYS_PER_PAGE = 100

_APP_ID = re.compile(r"app_[0-9a-f]{32}", re.ASCII)
_KEY_ID = re.compile(r"key_[0-9a-f]{16}", re.ASCII)


def new_app_id() -> str:
    return f"app_{secrets.token_hex(16)}"


def new_theme_id() -> str:
    return f"thm_{secrets.token_hex(16)}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------- reach
def can_reach(principal: Principal, app: App) -> bool:
    """An app key reaches its own app only; an integration the apps of the nodes it reaches."""
    if principal.app_id is not None:
        return principal.app_id == app.id
    return principal.actor_type == "integration" and reaches(principal, app.node_path)


def reach_app(catalog: CatalogStore, principal: Principal, app_id: str) -> App:
    """The app `app_id` as `principal` may use it; 404 `app_not_found` for no such app, a deleted one, or one
    the caller does not reach (indistinguishable: an app's existence is not told to who cannot see it).
    An id not of the app form is answered so too, without a read."""
    app = catalog.get(App, app_id) if _APP_ID.fullmatch(app_id) else None
    if app is None or app.status == DELETED or not can_reach(principal, app):
        raise NotFound("No such app", code="app_not_found")
    return app


def _integration_manages(principal: Principal, app: App) -> bool:
    return principal.app_id is None and principal.actor_type == "integration" and reaches(principal, app.node_path)


# ---------------------------------------------------------------------------------------------- the view
def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value) if value else datetime(1970, 1, 1, tzinfo=UTC)


def app_view(app: App, principal: Principal) -> AppResponse:
    """The seed's `app` object for `principal` (who reaches it: `reach_app` first), with `permissions` and
    `is_member` computed for it (the module's rule). The app-scoped payment view embeds this."""
    from payments_core.models.apps import (
        AppResponse,
        AppUser,
        Permissions,
        ThemeResponse,
        ThemeStyles,
    )
    from payments_core.models.apps import ThemeColors as ThemeColorsOut

    manages = _integration_manages(principal, app)
    own_key = principal.app_id == app.id
    is_member = own_key or (manages and principal.node_id == app.node_id)
    theme = app.theme
    return AppResponse(
        id=app.id,
        name=app.name,
        type=app.type,  # type: ignore[arg-type]  # validated: one of AppType's values
        status=app.status,  # type: ignore[arg-type]
        kyc_return_url=app.kyc_return_url,
        use_explorer=app.use_explorer,
        permissions=Permissions(
            can_view=manages or own_key, can_edit=manages, can_delete=manages, can_edit_members=manages
        ),
        app_fee=Decimal(app.app_fee),
        user=AppUser(
            id=app.owner.id,
            username=app.owner.username,
            first_name=app.owner.first_name,
            last_name=app.owner.last_name,
        ),
        is_member=is_member,
        featured=app.featured,
        created_at=_instant(app.created_at),
        updated_at=_instant(app.updated_at),
        theme=None
        if theme is None
        else ThemeResponse(
            id=theme.id,
            name=theme.name,
            created_at=_instant(theme.created_at),
            updated_at=_instant(theme.updated_at),
            styles=ThemeStyles(colors=ThemeColorsOut(**theme.colors._asdict())),
            visibility=theme.visibility,  # type: ignore[arg-type]
        ),
    )


# ---------------------------------------------------------------------------------------------- apps
def _check_app_fields(app_type: str, status: str, app_fee: Decimal) -> None:
    """What the API's models check, for the callers that do not go through them (the CLI, the seed)."""
    problems = []
    if app_type not in APP_TYPES:
        problems.append(field_error("type", "enum", f"must be one of {', '.join(APP_TYPES)}"))
    if status not in APP_STATUSES or status == DELETED:
        problems.append(field_error("status", "enum", "must be draft, submitted, active or disabled"))
    if not app_fee.is_finite() or not 0 <= app_fee <= 100 or app_fee != app_fee.quantize(Decimal("0.01")):
        problems.append(field_error("app_fee", "invalid", "must be a percent from 0 to 100 with at most 2 decimals"))
    if problems:
        raise ValidationFailed("The app is not valid", details=problems)


def new_theme(name: str, colors: ThemeColors, visibility: str = "public", *, now: str | None = None) -> Theme:
    stamp = now or _now()
    return Theme(id=new_theme_id(), name=name, colors=colors, visibility=visibility, created_at=stamp, updated_at=stamp)


def create_app(
    catalog: CatalogStore,
    *,
    node_id: str,
    name: str,
    type: str = "individual",  # noqa: A002 - NoRamp's field name
    status: str = "draft",
    app_fee: Decimal = Decimal(0),
    owner: AppOwner | None = None,
    theme: Theme | None = None,
    kyc_return_url: str | None = None,
    use_explorer: bool = False,
    featured: bool = False,
    principal: Principal | None = None,
) -> App:
    """A new app of node `node_id` (404 `node_not_found`), stored once (put_new). With `principal` (the API),
    the integration must reach the node (403 `node_access_denied`); without one (the operator CLI, the local
    stack's seed) it is not checked. `owner` defaults to the node (`username` its name)."""
    _check_app_fields(type, status, app_fee)
    node = catalog.get(Node, node_id)
    if node is None:
        raise NotFound(
            f"Node {node_id} not found",
            code="node_not_found",
            details=[field_error("body.node_id", "not_found", "no node with this id")],
        )
    if principal is not None:
        ensure_reaches(principal, node.path)
    now = _now()
    app = App(
        id=new_app_id(),
        node_id=node.id,
        node_path=node.path,
        name=name,
        type=type,
        status=status,
        app_fee=app_fee,
        owner=owner or AppOwner(id=node.id, username=node.name),
        theme=theme,
        kyc_return_url=kyc_return_url,
        use_explorer=use_explorer,
        featured=featured,
        created_at=now,
        updated_at=now,
    )
    catalog.put_new(app)
    return app


def _theme_from(req: ThemeIn, *, keep: Theme | None, now: str) -> Theme:
    colors = ThemeColors(**req.styles.colors.model_dump())
    if keep is None:
        return new_theme(req.name, colors, req.visibility.value, now=now)
    return keep._replace(name=req.name, colors=colors, visibility=req.visibility.value, updated_at=now)


def post_app(catalog: CatalogStore, principal: Principal, req: CreateAppRequest) -> AppResponse:
    """POST /apps: the integration's new app; its owner is the integration (`user.id` its client id,
    `username` the body's or the integration's name)."""
    integration = catalog.get(Integration, principal.actor_id)
    user = req.user
    owner = AppOwner(
        id=principal.actor_id,
        username=user.username if user else (integration.name if integration else principal.actor_id),
        first_name=user.first_name if user else None,
        last_name=user.last_name if user else None,
    )
    now = _now()
    app = create_app(
        catalog,
        node_id=str(req.node_id),
        name=req.name,
        type=req.type.value,
        status=req.status,
        app_fee=req.app_fee,
        owner=owner,
        theme=_theme_from(req.theme, keep=None, now=now) if req.theme else None,
        kyc_return_url=req.kyc_return_url,
        use_explorer=req.use_explorer,
        featured=req.featured,
        principal=principal,
    )
    return app_view(app, principal)


def get_app(catalog: CatalogStore, principal: Principal, app_id: str) -> AppResponse:
    return app_view(reach_app(catalog, principal, app_id), principal)


def _managed_app(catalog: CatalogStore, principal: Principal, app_id: str) -> App:
    """The app for a change: reached, and by an integration (an app key only reads its app: 404 as for any
    app it may not change, though the routes that change take integrator JWTs only)."""
    app = reach_app(catalog, principal, app_id)
    if not _integration_manages(principal, app):
        raise NotFound("No such app", code="app_not_found")
    return app


def _changed(catalog: CatalogStore, principal: Principal, app_id: str, change: Callable[[App, str], App]) -> App:
    """Apply `change` to the app as read and write it only if nobody changed it meanwhile (replace: optimistic
    on `updated_at`); read again and retry once on StaleWrite, then 409 `concurrent_update`."""
    for _attempt in range(2):
        app = _managed_app(catalog, principal, app_id)
        new = change(app, _now())
        if new == app:
            return app
        try:
            catalog.replace(app, new)
        except StaleWrite:
            continue
        return new
    raise Conflict("The app kept changing while this request decided; try again", code="concurrent_update")


def patch_app(catalog: CatalogStore, principal: Principal, app_id: str, req: UpdateAppRequest) -> AppResponse:
    """PATCH /apps/{app_id}: the fields the body gives, no other."""
    given = req.model_fields_set

    def change(app: App, now: str) -> App:
        # The model refuses null for every field but kyc_return_url and theme (null removes those).
        fields: dict[str, object] = {}
        for name in ("name", "status", "use_explorer", "featured", "app_fee", "kyc_return_url"):
            if name in given:
                fields[name] = getattr(req, name)
        if "type" in given and req.type is not None:
            fields["type"] = req.type.value
        if "user" in given and req.user is not None:
            user = req.user
            fields["owner"] = app.owner._replace(
                username=user.username, first_name=user.first_name, last_name=user.last_name
            )
        if "theme" in given:
            fields["theme"] = None if req.theme is None else _theme_from(req.theme, keep=app.theme, now=now)
        new = app._replace(**fields)  # type: ignore[arg-type]
        return app if new == app else new._replace(updated_at=now)

    return app_view(_changed(catalog, principal, app_id, change), principal)


def delete_app(catalog: CatalogStore, principal: Principal, app_id: str) -> AppResponse:
    """DELETE /apps/{app_id}: status `deleted`; the entry stays (its payments name it), every app route then
    answers 404 `app_not_found` for it, whatever key or token asks."""
    return app_view(
        _changed(catalog, principal, app_id, lambda app, now: app._replace(status=DELETED, updated_at=now)),
        principal,
    )


# ---------------------------------------------------------------------------------------------- keys
def create_app_key(catalog: CatalogStore, app_id: str, *, name: str | None = None) -> tuple[AppKey, str]:
    """A new API key of app `app_id` (the caller checked the app): the stored entry (its hash only) and the
    key itself, to be shown once."""
    from payments_core.security import app_keys

    made = app_keys.new_key()
    now = _now()
    key = AppKey(
        id=made.key_id,
        app_id=app_id,
        secret_hash=made.secret_hash,
        name=name,
        status=ACTIVE_KEY,
        created_at=now,
        updated_at=now,
    )
    catalog.put_new(key)
    return key, made.key


def key_view(key: AppKey) -> AppKeyResponse:
    from payments_core.models.apps import AppKeyResponse

    return AppKeyResponse(
        id=key.id,
        app_id=key.app_id,
        name=key.name,
        status=key.status,  # type: ignore[arg-type]
        created_at=_instant(key.created_at),
        revoked_at=_instant(key.revoked_at) if key.revoked_at else None,
    )


def post_app_key(catalog: CatalogStore, principal: Principal, app_id: str, name: str | None) -> AppKeyCreated:
    """POST /apps/{app_id}/keys: the key, shown this once."""
    from payments_core.models.apps import AppKeyCreated

    app = _managed_app(catalog, principal, app_id)
    key, plain = create_app_key(catalog, app.id, name=name)
    return AppKeyCreated(**key_view(key).model_dump(), key=plain)


def _app_key(catalog: CatalogStore, app: App, key_id: str) -> AppKey:
    key = catalog.get(AppKey, key_id) if _KEY_ID.fullmatch(key_id) else None
    if key is None or key.app_id != app.id:
        raise NotFound("No such API key for this app", code="app_key_not_found")
    return key


def revoke_app_key(catalog: CatalogStore, app_id: str, key_id: str) -> AppKey:
    """Key `key_id` of app `app_id` revoked (the authorizer refuses it from the next request: it reads the key
    on every request). Revoking a revoked key changes nothing. Conditional on the key as read (StaleWrite is
    retried once, then 409 `concurrent_update`)."""
    app = live_app(catalog, app_id)
    for _attempt in range(2):
        key = _app_key(catalog, app, key_id)
        if key.status == REVOKED_KEY:
            return key
        now = _now()
        revoked = key._replace(status=REVOKED_KEY, revoked_at=now, updated_at=now)
        try:
            catalog.replace(key, revoked)
        except StaleWrite:
            continue
        return revoked
    raise Conflict("The key kept changing while this request decided; try again", code="concurrent_update")


def delete_app_key(catalog: CatalogStore, principal: Principal, app_id: str, key_id: str) -> AppKeyResponse:
    """DELETE /apps/{app_id}/keys/{key_id}: the key revoked (status `revoked`, `revoked_at`)."""
    app = _managed_app(catalog, principal, app_id)
    return key_view(revoke_app_key(catalog, app.id, key_id))


def list_app_keys(catalog: CatalogStore, principal: Principal, app_id: str, *, page: int, per_page: int) -> AppKeyList:
    """GET /apps/{app_id}/keys: the app's keys, newest first (revoked ones too), never a key itself."""
    from payments_core.models.apps import AppKeyList

    app = _managed_app(catalog, principal, app_id)
    found, total = catalog.list_of_app(AppKey, app.id, offset=(page - 1) * per_page, limit=per_page)
    return AppKeyList(items=[key_view(k) for k in found], page=page, per_page=per_page, total=total)


def live_app(catalog: CatalogStore, app_id: str) -> App:
    """An app that is not deleted, by id alone (the operator's commands): 404 `app_not_found` else."""
    app = catalog.get(App, app_id) if _APP_ID.fullmatch(app_id) else None
    if app is None or app.status == DELETED:
        raise NotFound(f"No app {app_id}", code="app_not_found")
    return app


def _plain(value: object) -> object:
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items() if v is not None}
    if isinstance(value, tuple):
        return list(value)
    return value


def app_record(app: App) -> dict[str, object]:
    """An app as the operator CLI prints it (every stored field, nested ones as objects)."""
    record = _plain(app)
    assert isinstance(record, dict)
    return record


def key_record(key: AppKey) -> dict[str, object]:
    """A key as the operator CLI prints it: never its hash."""
    return {k: v for k, v in key._asdict().items() if k != "secret_hash" and v is not None}


def apps_of(catalog: CatalogStore, node_id: str | None = None) -> list[App]:
    """Every app (the operator CLI's list), or those of node `node_id`, deleted ones included."""
    apps = catalog.list(App)
    return sorted((a for a in apps if node_id is None or a.node_id == node_id), key=lambda a: a.created_at)
