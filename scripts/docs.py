"""Generate the reference parts of docs/api.md from the code and template.yaml.

Each generated part sits between `<!-- NAME:start -->` and `<!-- NAME:end -->` markers; the text around
them is written by hand. The parts:
- `routes`: every API route of template.yaml, its function and its authorizer; then the other event sources
  (queues, the stream, schedules) of every function;
- `error-codes`: every `error.code`, from payments_core.errors.ErrorCode and its ERROR_CODE_DOCS;
- `status-table`: the payment status machine (payments_core.domain.status.MACHINE);
- `noramp-status-table`: the platform's statuses as NoRamp's app API shows them (status.NORAMP_STATUS);
- `event-types`: the payment log's event types (payments_core.models.payments.EventType);
- `chain-failures`: the codes of `send_failed_reason` and `cancel_failed_reason` (chain_work.ChainFailure).

    python scripts/docs.py --write   # regenerate docs/api.md's generated parts
    python scripts/docs.py --check   # fail when they and the code disagree (make test)
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
API_DOC = ROOT / "docs" / "api.md"
sys.path[:0] = [str(ROOT / "layers" / "core"), str(ROOT / "local")]

_AUTH = {
    None: "public",
    "IntegratorAuthorizer": "integrator JWT",
    "WidgetAuthorizer": "widget `access_token`",
    "AppAuthorizer": "app API key or integrator JWT",
}

# The log event types: when each is written and by whom (a test fails when EventType and this disagree).
EVENT_TYPE_DOCS = {
    "created": ("the payment is created", "integration"),
    "cancelled": ("cancelled at once (no deal or charge could exist), or cancelDeal mined", "integration, chain"),
    "cancel_requested": ("cancel queued as cancelDeal on chain (by the integration, or by expiry)", "integration"),
    "retry_sent": ("re-sent to the create-deal queue", "integration"),
    "deal_sending": ("the create-deal worker claimed it", "system"),
    "deal_created": ("createDeal mined: `deal_id`, `deal_transaction_hash`", "chain"),
    "deal_verified": (
        "the contract's deal was checked against the payment at the network's required confirmations",
        "chain",
    ),
    "deal_reorged": ("a reorg gave the recorded deal id to another deal: the deal of the ref (`dealIdOf`)", "chain"),
    "send_failed": (
        "createDeal cannot succeed (a terminal failure, at once), or the worker gave up after its retries, or the "
        "watcher found it stuck in `sending`: `send_failed_reason`",
        "system",
    ),
    "cancel_failed": (
        "cancelDeal cannot succeed (a terminal failure, or not done an hour after it was requested): "
        "`cancel_failed_reason`; the payment stays `cancelling`",
        "system",
    ),
    "deposit_seen": (
        "the payer's deposit was seen on chain (`transaction_hash`, `payer`, block), or moved by a reorg",
        "chain",
    ),
    "confirmed": ("the deposit reached the network's required confirmations", "chain"),
    "reorged": ("a reorg dropped the deposit: back to waiting", "chain"),
    "refunded": (
        "cancelDeal refunded a paid deal (also of a payment already cancelled or expired: it stays so)",
        "chain",
    ),
    "expired": ("past `expires_at` unpaid", "system, chain"),
    "status_changed": ("any other versioned change (fallback)", "as recorded"),
}


# What each chain failure code means (a test fails when ChainFailure and this disagree).
CHAIN_FAILURE_DOCS = {
    "rpc_unavailable": "the network's RPC could not be reached",
    "timeout": "an RPC call timed out",
    "rpc_error": "the RPC answered an error of no other kind",
    "no_receipt": "the transaction was sent, its receipt did not come in time (the next attempt finds the deal)",
    "nonce_too_low": "the signer's nonce was used meanwhile",
    "nonce_too_high": "the signer's nonce is ahead of the chain's",
    "replacement_underpriced": "a transaction with that nonce is pending at a higher fee",
    "underpriced": "the fee is below what the node accepts",
    "already_known": "the node has the transaction already",
    "insufficient_funds": "the signing wallet cannot pay the gas (fund it)",
    "reverted_on_chain": "mined but reverted (state changed after the estimate; the next attempt says why)",
    "ref_already_used": "the ref has a deal already: it is recorded",
    "deal_not_found": "no deal of that id (yet)",
    "deal_closed": "the deal was closed meanwhile: read again and recorded",
    "payee_refused": "the contract refuses the payee (the zero address)",
    "invalid_payee": "the payee is not an EVM address",
    "token_refused": "no token contract at the currency's address on the network",
    "invalid_token": "the currency's token address on the network is not an EVM address",
    "amount_refused": "the contract refuses the amount (zero)",
    "expiry_refused": "`expires_at` is past by the chain's clock",
    "reverted": "the contract refused the transaction for another reason",
    "signer_not_allowed": "the signing wallet is not a platform wallet of the diamond",
    "signer_mismatch": "no signing key matches the deal's creator (cancelDeal)",
    "no_diamond": "the network has no diamond (or no contract at its address)",
    "network_not_found": "the payment's network is not in the catalog",
    "no_signing_wallet": "the payment names no wallet and its network has no platform wallet",
    "no_signing_key": "no signing key is stored for the signing wallet",
    "invalid_signing_key": "the stored signing key is not a private key",
    "deal_data_missing": "the payment lacks its deal ref, token or amount",
    "retries_exhausted": "a transient failure outlasted the queue's deliveries (the message is dead-lettered)",
    "send_stuck": "still `sending` without a deal 30 minutes after its worker claimed it (the watcher)",
    "cancel_stuck": "cancelDeal not done an hour after it was requested (the watcher)",
}


def chain_failures_table() -> str:
    from payments_core.domain.chain_work import TERMINAL_FAILURES, ChainFailure

    rows = ["| `code` | terminal | meaning |", "|---|---|---|"]
    for failure in ChainFailure:
        terminal = "yes" if failure in TERMINAL_FAILURES else "no (retried)"
        if failure in (ChainFailure.RETRIES_EXHAUSTED, ChainFailure.SEND_STUCK, ChainFailure.CANCEL_STUCK):
            terminal = "the end of retries"
        rows.append(f"| `{failure.value}` | {terminal} | {CHAIN_FAILURE_DOCS[failure.value]} |")
    return "\n".join(rows)


def routes_table() -> str:
    from devstack import template as tpl

    rows = ["| Method and path | Function | Auth |", "|---|---|---|"]
    fallbacks = set()
    for route in sorted(tpl.routes(), key=lambda r: (r.path, r.method)):
        if route.method == "ANY":  # every resource's: any method it does not have
            fallbacks.add(route.function)
            continue
        rows.append(
            f"| `{route.method} {route.path}` | `{route.function}` | {_AUTH.get(route.authorizer, route.authorizer)} |"
        )
    for function in sorted(fallbacks):
        rows += [
            "",
            f"Every path above also has `ANY` on `{function}` (public): a method the path does not have is answered "
            "405 `method_not_allowed`, its methods in `Allow`.",
        ]
    rows += ["", "| Event source | Function | Batch |", "|---|---|---|"]
    for source in sorted(tpl.event_sources(), key=lambda s: (s.kind, s.function)):
        what = {"SQS": "queue", "DynamoDB": "stream of", "Schedule": "schedule"}.get(source.kind, source.kind)
        origin = (
            f"{what} `{source.properties.get('Schedule', source.source)}`"
            if source.kind == "Schedule"
            else f"{what} `{source.source}`"
        )
        batch = "-" if source.kind == "Schedule" else str(source.batch_size)
        rows.append(f"| {origin} | `{source.function}` | {batch} |")
    return "\n".join(rows)


def error_codes_table() -> str:
    from payments_core.errors import ERROR_CODE_DOCS, ErrorCode

    def status_of(code: ErrorCode) -> str:
        return ERROR_CODE_DOCS[code][0]

    rows = ["| Status | `code` | When |", "|---|---|---|"]
    for code in sorted(ErrorCode, key=lambda c: (status_of(c), c.value)):
        status, when = ERROR_CODE_DOCS[code]
        rows.append(f"| {status} | `{code.value}` | {when} |")
    return "\n".join(rows)


def status_table() -> str:
    from payments_core.domain import status

    return status.markdown_table()


def noramp_status_table() -> str:
    from payments_core.domain import status

    return status.noramp_markdown_table()


def event_types_table() -> str:
    from payments_core.models.payments import EventType

    rows = ["| event_type | written when | actor_type |", "|---|---|---|"]
    for event in EventType:
        when, actor = EVENT_TYPE_DOCS[event.value]
        rows.append(f"| `{event.value}` | {when} | {actor} |")
    return "\n".join(rows)


PARTS: dict[str, Callable[[], str]] = {
    "routes": routes_table,
    "error-codes": error_codes_table,
    "status-table": status_table,
    "noramp-status-table": noramp_status_table,
    "event-types": event_types_table,
    "chain-failures": chain_failures_table,
}


def render(text: str) -> str:
    for name, make in PARTS.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{API_DOC}: no <!-- {name}:start/end --> markers")
        body = make()

        def fill(match: re.Match[str], body: str = body) -> str:
            return match.group(1) + body + "\n" + match.group(2)

        text = pattern.sub(fill, text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args()
    current = API_DOC.read_text()
    wanted = render(current)
    if args.write:
        API_DOC.write_text(wanted)
        return 0
    if wanted != current:
        print(f"{API_DOC.relative_to(ROOT)} is stale: run make docs and commit it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
