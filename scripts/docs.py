"""Generate the reference parts of docs/api.md from the code and template.yaml.

Each generated part sits between `<!-- NAME:start -->` and `<!-- NAME:end -->` markers; the text around
them is written by hand. The parts:
- `routes`: every API route of template.yaml, its function and its authorizer; then the other event sources
  (queues, the stream, schedules) of every function;
- `error-codes`: every `error.code`, from payments_core.errors.ErrorCode and its ERROR_CODE_DOCS;
- `status-table`: the payment status machine (payments_core.domain.status.MACHINE);
- `event-types`: the payment log's event types (payments_core.models.payments.EventType).

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

_AUTH = {None: "public", "IntegratorAuthorizer": "integrator JWT", "WidgetAuthorizer": "widget `access_token`"}

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
    "send_failed": ("the worker gave up (dead-letter queue)", "system"),
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
    "event-types": event_types_table,
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
