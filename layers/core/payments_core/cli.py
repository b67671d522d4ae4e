"""paymentsctl: the operator CLI.

    paymentsctl [--stack NAME | --local] node create --name Acme [--parent ID]
    paymentsctl node list
    paymentsctl chain create --name Ethereum
    paymentsctl network create --chain ID --name Sepolia --evm-chain-id 11155111 --rpc-url URL
                               [--diamond ADDR] [--confirmations 12]
    paymentsctl network set-wallet --network ID --wallet WALLET_ID
    paymentsctl network set-pool --network ID --wallets WALLET_ID[,WALLET_ID...]   (more platform signers)
    paymentsctl network set-rpc-url --network ID --rpc-url URL         (Secrets Manager, never the catalog)
    paymentsctl currency create --symbol USDT --decimals 6 [--token NETWORK_ID=0xADDR ...] [--max-amount 1000000]
    paymentsctl wallet create --node ID --address 0x.. [--network ID] [--owner WALLET_ID]
    paymentsctl member create --node ID [--email ..] [--name ..] [--surname ..]
    paymentsctl integration create --node ID --name "Acme backend"    (prints the secret once)
    paymentsctl integration disable ID | integration enable ID          (tokens refused within 60 s)
    paymentsctl keys rotate | keys retire-previous | keys show
    paymentsctl rate set usd eur 0.9213 | rate list                     (operator rates win over the ECB's)
    paymentsctl fees set --processing-percent 2.9 --fixed usd=0.25 [--fixed eur=0.25 ...] --platform-percent 3.9
    paymentsctl fees show
    paymentsctl migrate-secrets      (a stack from before the secrets table: hashes and RPC URLs leave the catalog)
    paymentsctl app create --node ID --name "Shop" [--type individual|marketplace] [--app-fee 2.5] [--status draft]
    paymentsctl app list [--node ID]
    paymentsctl app key create --app APP_ID [--name ..]      (prints the API key once)
    paymentsctl app key revoke --app APP_ID --key KEY_ID

Where the tables are:
- `--local` (default when `.dev/stack.json` exists): the local stack that `make dev` runs.
- `--stack NAME`: a deployed stack; table names and the key secret come from its CloudFormation outputs.
- otherwise the environment variables the functions use (CATALOG_TABLE, ...).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from payments_core.errors import DomainError

LOCAL_STACK_FILE = Path(".dev/stack.json")


def _configure(args: argparse.Namespace) -> None:
    """Point the settings at the chosen stack, before any client is built."""
    if args.stack:
        import boto3

        cfn = boto3.client("cloudformation", region_name=args.region)
        outputs = {
            o["OutputKey"]: o["OutputValue"]
            for o in cfn.describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])
        }
        os.environ.update(
            CATALOG_TABLE=outputs["CatalogTableName"],
            PAYMENTS_TABLE=outputs["PaymentsTableName"],
            PAYMENT_KEYS_TABLE=outputs["PaymentKeysTableName"],
            SIGNING_KEYS_SECRET_ID=outputs["SigningKeysSecretId"],
            JWKS_PARAMETER_NAME=outputs["JwksParameterName"],
            INTEGRATION_SECRETS_TABLE=outputs["IntegrationSecretsTableName"],
            RPC_SECRET_PREFIX=outputs["RpcSecretPrefix"],
        )
        if args.region:
            os.environ["AWS_DEFAULT_REGION"] = args.region
    elif args.local or (not os.environ.get("CATALOG_TABLE") and LOCAL_STACK_FILE.exists()):
        local = json.loads(LOCAL_STACK_FILE.read_text())
        os.environ.update(local["environment"])


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="paymentsctl", description="Operate the payments catalog and keys.")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--stack", help="a deployed CloudFormation stack name")
    where.add_argument("--local", action="store_true", help="the local stack (.dev/stack.json)")
    p.add_argument("--region", default=None)
    sub = p.add_subparsers(dest="kind", required=True)

    def kind(name: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        k = sub.add_parser(name)
        actions = k.add_subparsers(dest="action", required=True)
        actions.add_parser("list")
        return actions

    a = kind("node").add_parser("create")
    a.add_argument("--name", required=True)
    a.add_argument("--parent")
    a = kind("chain").add_parser("create")
    a.add_argument("--name", required=True)
    network = kind("network")
    a = network.add_parser("create")
    a.add_argument("--chain", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--evm-chain-id", type=int, required=True)
    a.add_argument("--rpc-url", required=True)
    a.add_argument("--diamond")
    a.add_argument("--confirmations", type=int, default=12)
    a = network.add_parser("set-wallet", help="the platform wallet that signs deals of payments that name no wallet")
    a.add_argument("--network", required=True)
    a.add_argument("--wallet", required=True)
    a = network.add_parser("set-pool", help="more platform wallets that sign deals: one lane each (decision 0045)")
    a.add_argument("--network", required=True)
    a.add_argument("--wallets", required=True, help="comma-separated wallet ids; empty: no pool")
    a = network.add_parser("set-rpc-url", help="replace the network's RPC URL (kept in Secrets Manager)")
    a.add_argument("--network", required=True)
    a.add_argument("--rpc-url", required=True)
    a = kind("currency").add_parser("create")
    a.add_argument("--symbol", required=True)
    a.add_argument("--decimals", type=int, required=True)
    a.add_argument("--token", action="append", default=[], metavar="NETWORK_ID=ADDRESS")
    a.add_argument(
        "--max-amount",
        type=Decimal,
        help="the largest amount a payment may have (default: the most whose smallest unit DynamoDB stores, "
        "38 nines of smallest units)",
    )
    a = kind("wallet").add_parser("create")
    a.add_argument("--node", required=True)
    a.add_argument("--address", required=True)
    a.add_argument("--network")
    a.add_argument("--owner")
    a.add_argument("--name")
    a = kind("member").add_parser("create")
    a.add_argument("--node", required=True)
    for f in ("external-id", "name", "surname", "email"):
        a.add_argument(f"--{f}")
    integration = kind("integration")
    a = integration.add_parser("create")
    a.add_argument("--node", required=True)
    a.add_argument("--name", required=True)
    a = integration.add_parser("disable", help="no new token; its tokens are refused within 60 s")
    a.add_argument("id")
    a = integration.add_parser("enable", help="undo disable (seen by the authorizers within 60 s)")
    a.add_argument("id")
    keys = sub.add_parser("keys").add_subparsers(dest="action", required=True)
    keys.add_parser("rotate", help="rotate the token signing key now (the previous key keeps verifying)")
    keys.add_parser(
        "retire-previous",
        help="a compromised key: every key but the current one stops signing and verifying (within 20 s)",
    )
    keys.add_parser("show", help="print the published JWKS")
    sub.add_parser("migrate-secrets", help="move secret hashes and RPC URLs still in the catalog to their stores")
    _rate_and_fee_commands(sub)
    _app_commands(sub)
    return p


def _rate_and_fee_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`rate` and `fees` (docs/fees.md): exchange rates and the platform's fee settings."""
    rate = sub.add_parser("rate", help="exchange rates").add_subparsers(dest="action", required=True)
    a = rate.add_parser("set", help="an operator's rate for a pair (1 BASE = RATE TARGET), as of now")
    a.add_argument("base", type=str.lower)
    a.add_argument("target", type=str.lower)
    a.add_argument("rate", type=Decimal)
    rate.add_parser("list", help="every stored rate (the operator's and the ECB's)")
    fees = sub.add_parser("fees", help="the platform's fee settings").add_subparsers(dest="action", required=True)
    a = fees.add_parser("set", help="replace the fee settings whole")
    a.add_argument("--processing-percent", type=Decimal, required=True, help="the card provider's percent (2.9)")
    a.add_argument(
        "--fixed",
        action="append",
        required=True,
        metavar="CURRENCY=AMOUNT",
        help="the provider's fixed fee per charge in a currency (usd=0.25); a currency without one cannot be charged",
    )
    a.add_argument("--platform-percent", type=Decimal, required=True, help="the platform's percent (3.9)")
    fees.add_parser("show")


def _run_rates_and_fees(args: argparse.Namespace) -> Any:
    from datetime import UTC, datetime

    from payments_core import deps
    from payments_core.domain import rates
    from payments_core.errors import ValidationFailed, field_error
    from payments_core.fees import FeeSettings

    now = datetime.now(UTC)
    if args.kind == "rate" and args.action == "set":
        rate = rates.operator_rate(args.base, args.target, args.rate, now=now)
        return rates.public_rate(rates.set_rate(deps.rate_store(), rate))
    if args.kind == "rate":
        return [rates.public_rate(r) for r in rates.list_rates(deps.rate_store())]
    if args.action == "show":
        return rates.public_fee_settings(rates.fee_settings(deps.fee_settings_store()))
    fixed: dict[str, Decimal] = {}
    for given in args.fixed:
        currency, _, amount = given.partition("=")
        try:
            fixed[currency.strip().lower()] = Decimal(amount)
        except ArithmeticError:
            raise ValidationFailed(
                "Invalid fee settings", details=[field_error(f"fixed.{currency}", "invalid_amount", "not a number")]
            ) from None
    settings = FeeSettings(args.processing_percent, fixed, args.platform_percent)
    return rates.public_fee_settings(rates.set_fee_settings(deps.fee_settings_store(), settings, now=now))


# ---------------------------------------------------------------------------------------------- NoRamp's apps
def _app_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    app = sub.add_parser("app", help="NoRamp's apps and their API keys").add_subparsers(dest="action", required=True)
    a = app.add_parser("create")
    a.add_argument("--node", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--type", default="individual", choices=("individual", "marketplace"))
    a.add_argument("--status", default="draft", choices=("draft", "submitted", "active", "disabled"))
    a.add_argument("--app-fee", type=Decimal, default=Decimal(0), help="percent of each price, 0 to 100")
    a = app.add_parser("list")
    a.add_argument("--node", default=None, help="only this node's apps")
    key = app.add_parser("key").add_subparsers(dest="key_action", required=True)
    a = key.add_parser("create", help="a new API key of the app (printed once; only its hash is kept)")
    a.add_argument("--app", required=True)
    a.add_argument("--name", default=None)
    a = key.add_parser("revoke", help="revoke an API key (refused from the next request)")
    a.add_argument("--app", required=True)
    a.add_argument("--key", required=True, help="the key's id (key_...)")


def _run_app(args: argparse.Namespace) -> Any:
    from payments_core import deps
    from payments_core.domain import apps

    cat = deps.catalog()
    if args.action == "create":
        app = apps.create_app(
            cat, node_id=args.node, name=args.name, type=args.type, status=args.status, app_fee=args.app_fee
        )
        return apps.app_record(app)
    if args.action == "list":
        return [apps.app_record(a) for a in apps.apps_of(cat, args.node)]
    if args.key_action == "create":
        app = apps.live_app(cat, args.app)
        key, plain = apps.create_app_key(cat, app.id, name=args.name)
        return {**apps.key_record(key), "key": plain, "note": "the key is shown only once"}
    return apps.key_record(apps.revoke_app_key(cat, args.app, args.key))


def run(args: argparse.Namespace) -> Any:
    from payments_core import deps
    from payments_core.domain import catalog as admin
    from payments_core.domain import keys as key_admin
    from payments_core.settings import get_settings

    if args.kind in ("rate", "fees"):
        return _run_rates_and_fees(args)
    if args.kind == "app":
        return _run_app(args)
    cat = deps.catalog()
    if args.kind == "keys":
        store = deps.signing_key_store()
        if args.action == "rotate":
            version = key_admin.rotate_now(store, token_ttl_seconds=get_settings().token_ttl_seconds)
            return {"rotated": True, "version_id": version, "jwks": store.read_jwks()}
        if args.action == "retire-previous":
            retired = key_admin.retire_previous(store)
            return {"retired_kids": retired, "jwks": store.read_jwks()}
        return store.read_jwks()
    if args.kind == "migrate-secrets":
        return admin.move_secrets_out_of_the_catalog(cat, deps.secret_hashes(), deps.rpc_urls())
    if args.action == "list":
        from payments_core.domain.entities import ENTITIES

        return [admin.public(i) for i in cat.list(ENTITIES[args.kind])]
    if args.kind == "node":
        return admin.public(admin.create_node(cat, args.name, args.parent))
    if args.kind == "chain":
        return admin.public(admin.create_chain(cat, args.name))
    if args.kind == "network" and args.action == "set-wallet":
        return admin.public(admin.set_platform_wallet(cat, network_id=args.network, wallet_id=args.wallet))
    if args.kind == "network" and args.action == "set-pool":
        wallets = [w for w in str(args.wallets).split(",") if w]
        return admin.public(admin.set_signing_pool(cat, network_id=args.network, wallet_ids=wallets))
    if args.kind == "network" and args.action == "set-rpc-url":
        return admin.public(admin.set_rpc_url(cat, deps.rpc_urls(), network_id=args.network, rpc_url=args.rpc_url))
    if args.kind == "network":
        return admin.public(
            admin.create_network(
                cat,
                deps.rpc_urls(),
                chain_id=args.chain,
                name=args.name,
                evm_chain_id=args.evm_chain_id,
                rpc_url=args.rpc_url,
                diamond_address=args.diamond,
                required_confirmations=args.confirmations,
            )
        )
    if args.kind == "currency":
        tokens = dict(t.split("=", 1) for t in args.token)
        return admin.public(
            admin.create_currency(
                cat, symbol=args.symbol, decimals=args.decimals, tokens=tokens, max_amount=args.max_amount
            )
        )
    if args.kind == "wallet":
        return admin.public(
            admin.create_wallet(
                cat,
                node_id=args.node,
                address=args.address,
                network_id=args.network,
                owner_wallet_id=args.owner,
                name=args.name,
            )
        )
    if args.kind == "member":
        return admin.public(
            admin.create_member(
                cat,
                node_id=args.node,
                external_id=args.external_id,
                name=args.name,
                surname=args.surname,
                email=args.email,
            )
        )
    if args.kind == "integration" and args.action in ("disable", "enable"):
        status = "disabled" if args.action == "disable" else "active"
        return admin.public(
            admin.set_integration_status(cat, deps.integration_status_store(), integration_id=args.id, status=status)
        )
    if args.kind == "integration":
        integration, secret = admin.create_integration(cat, deps.secret_hashes(), node_id=args.node, name=args.name)
        return {**admin.public(integration), "client_secret": secret, "note": "the secret is shown only once"}
    raise SystemExit(f"unknown command {args.kind} {args.action}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure(args)
    try:
        _print(run(args))
    except DomainError as exc:
        print(json.dumps(exc.body()), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
