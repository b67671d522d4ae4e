"""paymentsctl against the tables built from template.yaml."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.provision import Stack
from payments_core import cli, deps
from payments_core.domain import keys
from payments_core.domain.entities import Integration, Network, Node
from payments_core.security import passwords


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_catalog_commands_create_and_list(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    root = run(capsys, "node", "create", "--name", "Acme")
    child = run(capsys, "node", "create", "--name", "Acme EU", "--parent", root["id"])
    assert child["path"] == [root["id"], child["id"]]
    chain = run(capsys, "chain", "create", "--name", "Ethereum")
    network = run(
        capsys, "network", "create", "--chain", chain["id"], "--name", "sepolia", "--evm-chain-id", "11155111",
        "--rpc-url", "http://127.0.0.1:8545", "--confirmations", "3",
    )  # fmt: skip
    assert (network["evm_chain_id"], network["required_confirmations"]) == (11155111, 3)
    currency = run(
        capsys, "currency", "create", "--symbol", "USDT", "--decimals", "6", "--token", f"{network['id']}=0xabc"
    )
    assert currency["tokens"] == {network["id"]: "0xabc"}
    wallet = run(capsys, "wallet", "create", "--node", child["id"], "--address", "0x" + "1" * 40)
    member = run(capsys, "member", "create", "--node", child["id"], "--email", "a@example.com")
    assert member["email"] == "a@example.com"
    assert [n["id"] for n in run(capsys, "node", "list")] == sorted(
        [root["id"], child["id"]], key=lambda i: f"node#{i}"
    )
    assert [w["id"] for w in run(capsys, "wallet", "list")] == [wallet["id"]]


def test_integration_secret_is_printed_once_and_stored_hashed(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    node = run(capsys, "node", "create", "--name", "Acme")
    created = run(capsys, "integration", "create", "--node", node["id"], "--name", "backend")
    secret = created["client_secret"]
    assert secret.startswith("cs_")
    listed = run(capsys, "integration", "list")
    assert secret not in json.dumps(listed)
    assert all("secret_hash" not in i for i in listed)
    stored = deps.catalog().get(Integration, created["id"])
    assert stored is not None
    assert stored.secret_hash is None  # not in the catalog
    stored_hash = deps.secret_hashes().read_hash(created["id"]).run()
    assert stored_hash is not None
    assert passwords.verify_secret(secret, stored_hash)


def test_unknown_parent_is_an_error_not_a_record(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["node", "create", "--name", "x", "--parent", "nope"]) == 2
    assert json.loads(capsys.readouterr().err)["error"]["code"] == "node_not_found"
    assert run(capsys, "node", "list") == []


def test_keys_rotate_publishes_a_new_key(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(capsys, "keys", "rotate")
    # A second rotation while the first key is in its signing grace is refused, and changes nothing.
    assert cli.main(["keys", "rotate"]) == 2
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["code"] == "rotation_too_soon"
    assert "rotate again in" in error["message"]
    assert run(capsys, "keys", "show") == first["jwks"]
    assert deps.signing_key_store().read(stage="AWSPENDING") is None
    monkeypatch.setattr(keys, "SIGNING_GRACE_SECONDS", 0)  # the minute has passed
    second = run(capsys, "keys", "rotate")
    assert len(first["jwks"]["keys"]) == 1
    assert len(second["jwks"]["keys"]) == 2
    assert run(capsys, "keys", "show") == second["jwks"]


def test_stack_option_reads_table_names_from_the_stack_outputs(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from devstack import runtime

    outputs = {
        "CatalogTableName": stack.physical["CatalogTable"],
        "PaymentsTableName": stack.physical["PaymentsTable"],
        "PaymentKeysTableName": stack.physical["PaymentKeysTable"],
        "SigningKeysSecretId": stack.physical["SigningKeysSecret"],
        "JwksParameterName": stack.physical["JwksParameter"],
        "IntegrationSecretsTableName": stack.physical["IntegrationSecretsTable"],
        "RpcSecretPrefix": "payments-prod-rpc-",
    }
    deployed = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName="payments-prod", TemplateBody=json.dumps(deployed))
    # A shell with nothing configured: only the stack name says where the tables are.
    for name in (
        "CATALOG_TABLE", "PAYMENTS_TABLE", "PAYMENT_KEYS_TABLE", "SIGNING_KEYS_SECRET_ID", "INTEGRATION_SECRETS_TABLE",
        "RPC_SECRET_PREFIX",
    ):  # fmt: skip
        monkeypatch.delenv(name)
    runtime.reset_process_caches()
    node = run(capsys, "--stack", "payments-prod", "--region", "us-east-1", "node", "create", "--name", "Prod root")
    runtime.reset_process_caches()
    assert [n["id"] for n in run(capsys, "--stack", "payments-prod", "node", "list")] == [node["id"]]
    assert deps.catalog().get(Node, node["id"]) is not None


def test_network_platform_wallet(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    node = run(capsys, "node", "create", "--name", "Acme")
    chain = run(capsys, "chain", "create", "--name", "Ethereum")
    net = run(
        capsys,
        "network",
        "create",
        "--chain",
        chain["id"],
        "--name",
        "n",
        "--evm-chain-id",
        "1",
        "--rpc-url",
        "http://x",
    )
    wallet = run(capsys, "wallet", "create", "--node", node["id"], "--address", "0x" + "2" * 40, "--network", net["id"])
    updated = run(capsys, "network", "set-wallet", "--network", net["id"], "--wallet", wallet["id"])
    assert updated["platform_wallet_id"] == wallet["id"]
    assert [n.get("platform_wallet_id") for n in run(capsys, "network", "list")] == [wallet["id"]]


def test_network_rpc_url_lives_in_secrets_manager_never_the_catalog(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = run(capsys, "chain", "create", "--name", "Ethereum")
    url = "https://rpc.example/v2/sk_live_provider_key"
    net = run(
        capsys, "network", "create", "--chain", chain["id"], "--name", "n", "--evm-chain-id", "1", "--rpc-url", url
    )
    assert url not in json.dumps(net)
    stored = deps.catalog().get(Network, net["id"])
    assert stored is not None
    assert url not in repr(stored)
    assert deps.rpc_urls().get(net["id"]) == url
    assert url not in json.dumps(run(capsys, "network", "list"))
    run(capsys, "network", "set-rpc-url", "--network", net["id"], "--rpc-url", "https://rpc2.example")
    deps.rpc_urls.cache_clear()  # a fresh container (a warm one sees it within store.rpc_urls.CACHE_SECONDS)
    assert deps.rpc_urls().get(net["id"]) == "https://rpc2.example"


def test_integration_disable_and_enable(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    node = run(capsys, "node", "create", "--name", "Acme")
    created = run(capsys, "integration", "create", "--node", node["id"], "--name", "backend")
    assert run(capsys, "integration", "disable", created["id"])["status"] == "disabled"
    assert deps.integration_status_store().status(created["id"]) == "disabled"
    assert run(capsys, "integration", "enable", created["id"])["status"] == "active"
    assert deps.integration_status_store().status(created["id"]) == "active"
    assert cli.main(["integration", "disable", "ci_nobody"]) == 2  # never creates an entry
    assert json.loads(capsys.readouterr().err)["error"]["code"] == "integration_not_found"
    assert deps.catalog().get(Integration, "ci_nobody") is None


def test_keys_retire_previous_leaves_only_the_current_key(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys, "SIGNING_GRACE_SECONDS", 0)  # two rotations a minute apart
    run(capsys, "keys", "rotate")
    second = run(capsys, "keys", "rotate")
    assert len(second["jwks"]["keys"]) == 2
    retired = run(capsys, "keys", "retire-previous")
    current = deps.signing_key_store().read(stage="AWSCURRENT")
    assert retired["jwks"]["keys"] == [{k: current[k] for k in ("kty", "crv", "x", "y", "kid", "alg", "use")}]
    assert [k["kid"] for k in second["jwks"]["keys"] if k["kid"] != current["kid"]] == retired["retired_kids"]
    assert deps.signing_key_store().read(stage="AWSPREVIOUS") is None  # no longer signs in a rotation's grace


def test_migrate_secrets_moves_hashes_and_rpc_urls_out_of_the_catalog(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = deps.catalog()
    cat.put(Integration(id="ci_old", node_id="n", name="old", status="active", secret_hash="$argon2id$old"))
    cat.put(Network(id="net-old", chain_id="c", name="old", evm_chain_id=1, rpc_url="https://old.example/key"))
    moved = run(capsys, "migrate-secrets")
    assert moved == {"integrations": ["ci_old"], "networks": ["net-old"]}
    old_integration, old_network = cat.get(Integration, "ci_old"), cat.get(Network, "net-old")
    assert old_integration is not None
    assert old_integration.secret_hash is None
    assert old_network is not None
    assert old_network.rpc_url is None
    assert deps.secret_hashes().read_hash("ci_old").run() == "$argon2id$old"
    assert deps.rpc_urls().get("net-old") == "https://old.example/key"
    assert run(capsys, "migrate-secrets") == {"integrations": [], "networks": []}  # idempotent


def test_app_commands_create_list_and_manage_keys(
    stack: Stack, demo: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from payments_core.domain.entities import AppKey
    from payments_core.security import app_keys

    node = demo["nodes"]["child"]
    app = run(capsys, "app", "create", "--node", node, "--name", "Shop", "--type", "marketplace", "--app-fee", "2.5")
    assert (app["node_id"], app["type"], app["status"], app["owner"]["username"]) == (
        node,
        "marketplace",
        "draft",
        "Demo child",
    )
    assert str(app["app_fee"]) == "2.5"
    other = run(capsys, "app", "create", "--node", demo["nodes"]["root"], "--name", "Other")
    assert [a["id"] for a in run(capsys, "app", "list", "--node", node)] == [app["id"]]
    assert {a["id"] for a in run(capsys, "app", "list")} == {app["id"], other["id"], demo["app_id"]}

    created = run(capsys, "app", "key", "create", "--app", app["id"], "--name", "ops")
    parsed = app_keys.parse(created["key"])
    stored = deps.catalog().get(AppKey, created["id"])
    assert stored is not None
    assert parsed.key_id == created["id"]
    assert app_keys.matches(parsed.secret, stored.secret_hash)
    assert "secret_hash" not in created
    revoked = run(capsys, "app", "key", "revoke", "--app", app["id"], "--key", created["id"])
    assert revoked["status"] == "revoked"

    assert cli.main(["app", "create", "--node", node, "--name", "x", "--app-fee", "100.5"]) == 2
    assert "validation_error" in capsys.readouterr().err
    assert cli.main(["app", "key", "create", "--app", "app_" + "0" * 32]) == 2
    assert "app_not_found" in capsys.readouterr().err
    assert cli.main(["app", "key", "revoke", "--app", other["id"], "--key", created["id"]]) == 2
    assert "app_key_not_found" in capsys.readouterr().err
