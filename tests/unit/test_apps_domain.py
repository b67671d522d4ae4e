"""NoRamp's apps and keys in the domain, on the fakes: the app authorizer's decision (every key form, a wrong
secret, an unknown key id, a revoked key, a JWT, malformed headers), reach, permissions and is_member, create,
patch (optimistic, retried once), delete, key creation and revocation, and the request models' validation."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from payments_core.domain import apps, auth
from payments_core.domain import catalog as admin
from payments_core.domain.access import Principal
from payments_core.domain.auth import CachedValue, IntegrationStatuses, JwksVerifier, TokenPolicy
from payments_core.domain.entities import App, AppKey, Integration, Node, ThemeColors
from payments_core.domain.stores import StaleWrite
from payments_core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from payments_core.models.apps import CreateAppRequest, UpdateAppRequest
from payments_core.security import tokens
from payments_core.security.tokens import InvalidToken
from tests.unit.fakes import FakeCatalog, FakeIntegrationStatuses

POLICY = TokenPolicy(issuer="https://auth.test.example", audience="payments-api-test", ttl_seconds=3600)


@pytest.fixture(scope="module")
def signing_key() -> dict[str, Any]:
    return tokens.generate_signing_key()


class World:
    def __init__(self) -> None:
        self.catalog = FakeCatalog()
        self.root = admin.create_node(self.catalog, "Root")
        self.child = admin.create_node(self.catalog, "Child", self.root.id)
        self.other = admin.create_node(self.catalog, "Other")

    def integration(self, node: Node, client_id: str = "ci_1") -> Principal:
        return Principal("integration", client_id, node.id)

    def app(self, node: Node | None = None, **fields: Any) -> App:
        return apps.create_app(self.catalog, node_id=(node or self.child).id, name="Shop", **fields)


@pytest.fixture
def world() -> World:
    return World()


# ---------------------------------------------------------------------------------------------- the authorizer
def _decide(world: World, key: dict[str, Any], authorization: object, x_api_key: object = None) -> Principal:
    verifier = JwksVerifier(CachedValue(lambda: {"keys": [tokens.public_jwk(key)]}, ttl=15), POLICY)
    statuses = IntegrationStatuses(FakeIntegrationStatuses({"ci_1": "active"}).status, ttl=30)
    return auth.authorize_app_request(verifier, statuses, world.catalog, authorization, x_api_key)


def test_a_key_in_each_of_norramps_forms_is_its_apps_principal(world: World, signing_key: dict[str, Any]) -> None:
    app = world.app()
    stored, key = apps.create_app_key(world.catalog, app.id)
    expected = Principal("app_key", stored.id, "", app.id)
    basic = base64.b64encode(f"{key}:".encode()).decode()
    assert _decide(world, signing_key, f"Bearer {key}") == expected
    assert _decide(world, signing_key, f"Basic {key}") == expected
    assert _decide(world, signing_key, f"Basic {basic}") == expected
    assert _decide(world, signing_key, None, key) == expected
    assert _decide(world, signing_key, "Bearer whatever", key) == expected  # x-api-key first


def test_a_wrong_secret_an_unknown_id_and_a_revoked_key_are_refused(world: World, signing_key: dict[str, Any]) -> None:
    app = world.app()
    stored, key = apps.create_app_key(world.catalog, app.id)
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    unknown = "nrk_" + "f" * 16 + key[20:]
    for candidate in (wrong, unknown):
        with pytest.raises(InvalidToken):
            _decide(world, signing_key, None, candidate)
    assert _decide(world, signing_key, None, key).actor_id == stored.id
    apps.revoke_app_key(world.catalog, app.id, stored.id)
    with pytest.raises(InvalidToken):
        _decide(world, signing_key, None, key)  # at once: the key is read on every request


@pytest.mark.parametrize(
    ("authorization", "x_api_key"),
    [
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Basic", None),
        ("Basic !!!", None),
        ("Basic " + base64.b64encode(b"\xff\xfe").decode(), None),
        ("Digest x", None),
        ("Bearer not.a.jwt", None),
        ("Bearer nrk_short", None),
        (None, "nrk_short"),
        (None, "x" * 5000),
        ("Bearer " + "a" * 5000, None),
        (12, None),
        (None, ["nrk_"]),
    ],
)
def test_malformed_credentials_are_invalid_tokens_never_another_error(
    world: World, signing_key: dict[str, Any], authorization: object, x_api_key: object
) -> None:
    with pytest.raises(InvalidToken):
        _decide(world, signing_key, authorization, x_api_key)


def test_an_integrator_jwt_passes_the_app_authorizer(world: World, signing_key: dict[str, Any]) -> None:
    claims = tokens.integrator_claims(
        integration_id="ci_1", node_id=world.root.id, issuer=POLICY.issuer, audience=POLICY.audience, ttl=3600
    )
    principal = _decide(world, signing_key, f"Bearer {tokens.sign(signing_key, claims)}")
    assert principal == Principal("integration", "ci_1", world.root.id)
    policy = auth.allow_policy(principal, "arn:aws:execute-api:us-east-1:1:api/dev/GET/apps/x")
    assert "app_id" not in policy["context"]
    key_policy = auth.allow_policy(
        Principal("app_key", "key_1", "", "app_1"), "arn:aws:execute-api:us-east-1:1:api/dev/GET/x"
    )
    assert key_policy["context"]["app_id"] == "app_1"


# ---------------------------------------------------------------------------------------------- reach and view
def test_a_key_reaches_its_own_app_only_and_an_integration_the_apps_below_it(world: World) -> None:
    mine, theirs = world.app(), world.app()
    key = Principal("app_key", "key_1", "", mine.id)
    assert apps.reach_app(world.catalog, key, mine.id) == mine
    for principal, app_id in (
        (key, theirs.id),
        (world.integration(world.other), mine.id),
        (Principal("payer", "pay_1", world.child.id), mine.id),  # a widget token is no integration
        (world.integration(world.root), "app_" + "0" * 32),
        (world.integration(world.root), "app_x" * 1000),  # not the form: no read
        (world.integration(world.root), "../node#" + world.root.id),
    ):
        with pytest.raises(NotFound) as refused:
            apps.reach_app(world.catalog, principal, app_id)
        assert refused.value.code == "app_not_found"
    assert apps.reach_app(world.catalog, world.integration(world.root), mine.id) == mine
    assert apps.reach_app(world.catalog, world.integration(world.child), mine.id) == mine


def test_permissions_and_is_member_follow_the_documented_rule(world: World) -> None:
    app = world.app()
    key = apps.app_view(app, Principal("app_key", "key_1", "", app.id))
    assert key.permissions.model_dump() == {
        "can_view": True,
        "can_edit": False,
        "can_delete": False,
        "can_edit_members": False,
    }
    assert key.is_member
    own_node = apps.app_view(app, world.integration(world.child))
    above = apps.app_view(app, world.integration(world.root))
    for view in (own_node, above):
        assert all(view.permissions.model_dump().values())
    assert own_node.is_member
    assert not above.is_member
    stranger = apps.app_view(app, world.integration(world.other))  # not reached: nothing (routes answer 404)
    assert not any(stranger.permissions.model_dump().values())
    assert not stranger.is_member


def test_the_view_is_the_seeds_app_object(world: World) -> None:
    theme = apps.new_theme("Light", ThemeColors("#000", "#fff", "#111", "#f60", "#eee", "blue"))
    app = world.app(app_fee=Decimal("2.50"), theme=theme, kyc_return_url="https://x.example/kyc")
    dumped = apps.app_view(app, world.integration(world.child)).model_dump(mode="json")
    assert set(dumped) == {
        "id", "name", "type", "status", "kyc_return_url", "use_explorer", "permissions", "app_fee", "user",
        "is_member", "featured", "created_at", "updated_at", "theme",
    }  # fmt: skip
    assert set(dumped["theme"]) == {"id", "name", "created_at", "updated_at", "styles", "visibility"}
    assert dumped["theme"]["styles"]["colors"]["alternativeBackground"] == "#eee"
    assert set(dumped["user"]) == {"id", "username", "first_name", "last_name"}
    assert dumped["created_at"].endswith("Z")
    assert apps.app_view(app, world.integration(world.child)).app_fee == Decimal("2.50")


# ---------------------------------------------------------------------------------------------- create
def _request(node: Node, **fields: Any) -> CreateAppRequest:
    return CreateAppRequest.model_validate({"node_id": node.id, "name": "Shop", **fields})


def test_post_app_checks_the_node_and_makes_the_integration_its_owner(world: World) -> None:
    admin_integration = Integration(id="ci_acme", node_id=world.root.id, name="Acme")
    world.catalog.add(admin_integration)
    principal = world.integration(world.root, admin_integration.id)
    view = apps.post_app(world.catalog, principal, _request(world.child, type="marketplace", app_fee="1.25"))
    assert view.id.startswith("app_")
    assert len(view.id) == 36
    assert (view.status, view.type, view.app_fee) == ("draft", "marketplace", Decimal("1.25"))
    assert (view.user.id, view.user.username) == (admin_integration.id, "Acme")
    stored = world.catalog.get(App, view.id)
    assert stored is not None
    assert stored.node_path == world.child.path
    named = apps.post_app(world.catalog, principal, _request(world.root, user={"username": "ann", "last_name": "Lee"}))
    assert (named.user.username, named.user.first_name, named.user.last_name) == ("ann", None, "Lee")

    with pytest.raises(Forbidden) as denied:
        apps.post_app(world.catalog, world.integration(world.child), _request(world.root))
    assert denied.value.code == "node_access_denied"
    with pytest.raises(NotFound) as missing:
        apps.post_app(world.catalog, principal, _request(Node("00000000-0000-4000-8000-000000000001", "x", ())))
    assert missing.value.code == "node_not_found"


@pytest.mark.parametrize(
    "fields",
    [{"type": "shop"}, {"status": "deleted"}, {"app_fee": Decimal("100.01")}, {"app_fee": Decimal("0.001")}],
)
def test_create_app_checks_what_the_models_check_for_the_cli_and_the_seed(world: World, fields: Any) -> None:
    with pytest.raises(ValidationFailed):
        world.app(**fields)
    assert not world.catalog.list(App)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"app_fee": 1.5}, "decimal_type"),  # a binary float never gets in (the JSON codec gives Decimal)
        ({"app_fee": "1.5e1"}, "decimal_parsing"),
        ({"app_fee": "NaN"}, "decimal_parsing"),
        ({"app_fee": Decimal("Infinity")}, "finite_number"),
        ({"app_fee": Decimal("12.345")}, "too_many_decimals"),
        ({"app_fee": 101}, "less_than_equal"),
        ({"app_fee": -1}, "greater_than_equal"),
        ({"name": " "}, "string_too_short"),
        ({"name": "x" * 256}, "string_too_long"),
        ({"kyc_return_url": "javascript:alert(1)"}, "string_pattern_mismatch"),
        ({"use_explorer": 1}, "bool_type"),
        ({"theme": {"name": "t", "styles": {"colors": {}}}}, "missing"),
        ({"node_id": "not-a-uuid"}, "uuid_parsing"),
    ],
)
def test_the_create_model_refuses_bad_fields(world: World, fields: dict[str, Any], code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CreateAppRequest.model_validate({"node_id": world.root.id, "name": "Shop", **fields})
    assert code in {e["type"] for e in refused.value.errors()}


def test_app_fee_is_exact_and_trimmed(world: World) -> None:
    assert _request(world.root, app_fee="2.50").app_fee == Decimal("2.5")
    assert str(_request(world.root, app_fee=Decimal("99.99")).app_fee) == "99.99"
    assert _request(world.root).app_fee == 0


# ---------------------------------------------------------------------------------------------- patch, delete
def test_patch_changes_only_what_it_names(world: World) -> None:
    theme = apps.new_theme("Light", ThemeColors("#000", "#fff", "#111", "#f60", "#eee", "blue"))
    app = world.app(theme=theme, kyc_return_url="https://x.example/kyc")
    principal = world.integration(world.child)
    colors = dict(ThemeColors("#123", "#fff", "#000", "red", "#eee", "blue")._asdict())
    req = UpdateAppRequest.model_validate(
        {"status": "active", "theme": {"name": "Dark", "styles": {"colors": colors}}, "user": {"username": "bo"}}
    )
    view = apps.patch_app(world.catalog, principal, app.id, req)
    stored = world.catalog.get(App, app.id)
    assert stored is not None
    assert (stored.status, stored.name, stored.kyc_return_url) == ("active", "Shop", "https://x.example/kyc")
    assert stored.theme is not None
    assert (stored.theme.id, stored.theme.name, stored.theme.colors.primary) == (theme.id, "Dark", "#123")
    assert stored.theme.created_at == theme.created_at
    assert (stored.owner.id, stored.owner.username) == (app.owner.id, "bo")
    assert stored.updated_at > app.updated_at
    assert view.status == "active"

    nothing = apps.patch_app(world.catalog, principal, app.id, UpdateAppRequest.model_validate({}))
    assert world.catalog.get(App, app.id) == stored
    assert nothing.updated_at.isoformat().replace("+00:00", "Z") == stored.updated_at
    apps.patch_app(world.catalog, principal, app.id, UpdateAppRequest.model_validate({"theme": None}))
    removed = world.catalog.get(App, app.id)
    assert removed is not None
    assert removed.theme is None


@pytest.mark.parametrize("field", ["name", "type", "status", "app_fee", "user", "featured", "use_explorer"])
def test_patch_refuses_null_where_null_means_nothing(field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        UpdateAppRequest.model_validate({field: None})
    assert [(e["loc"], e["type"]) for e in refused.value.errors()] == [((field,), "null_not_allowed")]
    with pytest.raises(ValidationError):
        UpdateAppRequest.model_validate({"node_id": "00000000-0000-4000-8000-000000000001"})


class _RacingCatalog(FakeCatalog):
    """A catalog where someone else changes the app just before each of the first `races` replaces."""

    def __init__(self, base: FakeCatalog, races: int) -> None:
        super().__init__()
        self.entries = base.entries
        self.races = races

    def replace(self, old: Any, new: Any) -> None:
        if self.races > 0 and isinstance(old, App):
            self.races -= 1
            self.add(old._replace(featured=not old.featured, updated_at=old.updated_at + "0"))
        super().replace(old, new)


def test_patch_is_optimistic_retried_once_then_409(world: World) -> None:
    app = world.app()
    principal = world.integration(world.child)
    once = _RacingCatalog(world.catalog, races=1)
    view = apps.patch_app(once, principal, app.id, UpdateAppRequest.model_validate({"name": "Renamed"}))
    stored = world.catalog.get(App, app.id)
    assert stored is not None
    assert (view.name, stored.name, stored.featured) == ("Renamed", "Renamed", True)  # the other change kept

    twice = _RacingCatalog(world.catalog, races=2)
    with pytest.raises(Conflict) as conflict:
        apps.patch_app(twice, principal, app.id, UpdateAppRequest.model_validate({"name": "Again"}))
    assert conflict.value.code == "concurrent_update"
    stored = world.catalog.get(App, app.id)
    assert stored is not None
    assert stored.name == "Renamed"


def test_the_fake_replace_is_conditional(world: World) -> None:
    app = world.app()
    world.catalog.replace(app, app._replace(name="B", updated_at="z"))
    with pytest.raises(StaleWrite):
        world.catalog.replace(app, app._replace(name="C"))


def test_delete_marks_the_app_deleted_and_every_route_answers_404_after(world: World) -> None:
    app = world.app()
    principal = world.integration(world.root)
    stored, key = apps.create_app_key(world.catalog, app.id)
    assert apps.delete_app(world.catalog, principal, app.id).status == "deleted"
    entry = world.catalog.get(App, app.id)
    assert entry is not None
    assert entry.status == "deleted"
    calls = (
        lambda: apps.get_app(world.catalog, principal, app.id),
        lambda: apps.get_app(world.catalog, Principal("app_key", stored.id, "", app.id), app.id),
        lambda: apps.delete_app(world.catalog, principal, app.id),
        lambda: apps.patch_app(world.catalog, principal, app.id, UpdateAppRequest.model_validate({})),
        lambda: apps.post_app_key(world.catalog, principal, app.id, None),
        lambda: apps.list_app_keys(world.catalog, principal, app.id, page=1, per_page=10),
    )
    for call in calls:
        with pytest.raises(NotFound):
            call()
    assert key


def test_an_app_key_changes_nothing(world: World) -> None:
    app = world.app()
    key = Principal("app_key", "key_1", "", app.id)
    calls = (
        lambda: apps.patch_app(world.catalog, key, app.id, UpdateAppRequest.model_validate({"name": "x"})),
        lambda: apps.delete_app(world.catalog, key, app.id),
        lambda: apps.post_app_key(world.catalog, key, app.id, None),
        lambda: apps.delete_app_key(world.catalog, key, app.id, "key_" + "0" * 16),
    )
    for call in calls:
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.code == "app_not_found"
    assert world.catalog.get(App, app.id) == app


# ---------------------------------------------------------------------------------------------- keys
def test_keys_are_stored_as_hashes_listed_newest_first_and_revoked_once(world: World) -> None:
    app = world.app()
    principal = world.integration(world.child)
    first = apps.post_app_key(world.catalog, principal, app.id, "a")
    second = apps.post_app_key(world.catalog, principal, app.id, None)
    assert first.key != second.key
    stored = world.catalog.get(AppKey, first.id)
    assert stored is not None
    assert first.key.rsplit("_", 1)[1] not in repr(stored)
    listed = apps.list_app_keys(world.catalog, principal, app.id, page=1, per_page=10)
    assert [k.id for k in listed.items] == [second.id, first.id]
    assert listed.total == 2
    assert "key" not in listed.items[0].model_dump()

    revoked = apps.delete_app_key(world.catalog, principal, app.id, first.id)
    assert revoked.status == "revoked"
    assert revoked.revoked_at is not None
    assert apps.delete_app_key(world.catalog, principal, app.id, first.id) == revoked  # unchanged
    other = world.app()
    for app_id, key_id in ((other.id, second.id), (app.id, "key_nope"), (app.id, "key_" + "0" * 16)):
        with pytest.raises(NotFound) as missing:
            apps.delete_app_key(world.catalog, world.integration(world.root), app_id, key_id)
        assert missing.value.code == "app_key_not_found"
