"""Pay a payment of the local stack as the demo payer: what the payment widget has a wallet do.

    python -m devstack.pay <payment id> [--data-dir .dev] [--wait SECONDS] [--timeout SECONDS]

1. reads <data-dir>/demo.json (written by `make dev`: the API, the chain, the payer's dev key);
2. gets the payment from the integrator API (as the demo root integration) and its widget `access_token`;
3. reads the widget data, `GET /api/v1/widget/payments/{id}` with that token: the `approve` call and the
   `contract` call (`deposit(dealId)`) with their addresses, ABIs and arguments. If the stack has no widget
   route (404 route_not_found, or 403) or the widget refuses the token (401: a warning), the same calls are
   built from demo.json and the payment: the token, the diamond, `deal_id`, `paid_price` in the token's
   smallest unit;
4. as the payer (anvil account 1), with web3: `approve(diamond, amount)` on the token, then the contract call;
   prints each transaction hash when sent, waits (bounded) for the receipts.

A payment without a deal yet (pending, sending) is refused with a clear message, unless `--wait N` polls the
payment for N seconds until its deal exists. Exit status: 0 paid, 1 anything else (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from devstack import chain

HTTP_TIMEOUT = 15.0
RECEIPT_TIMEOUT = 60.0
POLL_SECONDS = 1.0
NOTHING_TO_PAY = {"paid", "confirmed", "cancelling", "cancelled", "refunded", "expired", "failed"}


class PayError(Exception):
    pass


# ------------------------------------------------------------------------------------------- HTTP
@dataclass
class HttpAnswer:
    status: int
    body: Any  # parsed JSON (Decimal numbers), or the raw text

    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            code = self.body["error"].get("code")
            return str(code) if code is not None else None
        return None

    def describe(self) -> str:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            error = self.body["error"]
            return f"{self.status} {error.get('code')}: {error.get('message')}"
        return f"{self.status} {str(self.body)[:200]}"


def http(method: str, url: str, *, token: str | None = None, body: Any = None) -> HttpAnswer:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as resp:
            status, raw = int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = int(exc.code), exc.read()
    except (OSError, urllib.error.URLError) as exc:
        raise PayError(f"{method} {url}: {exc} (is the local stack running? `make dev`)") from None
    text = raw.decode(errors="replace")
    try:
        parsed: Any = json.loads(text, parse_float=Decimal) if text else None
    except ValueError:
        parsed = text
    return HttpAnswer(status, parsed)


# ------------------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Call:
    """One contract call as the widget describes it (address, abi, function_name, arguments)."""

    address: str
    abi: list[dict[str, Any]]
    function_name: str
    arguments: list[Any]

    @classmethod
    def from_widget(cls, value: Any, what: str) -> Call:
        if not isinstance(value, dict):
            raise PayError(f"the widget data has no {what} call")
        try:
            return cls(
                address=str(value["address"]),
                abi=list(value["abi"]),
                function_name=str(value["function_name"]),
                arguments=list(value["arguments"]),
            )
        except (KeyError, TypeError) as exc:
            raise PayError(f"the widget's {what} call is malformed: {exc!r}") from None

    def describe(self) -> str:
        return f"{self.function_name}({', '.join(str(a) for a in self.arguments)}) on {self.address}"


@dataclass(frozen=True)
class Plan:
    source: str  # "widget" or "demo.json" (the fallback)
    deal_id: int
    evm_chain_id: int
    amount_units: int
    approve: Call
    contract: Call


def load_demo(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "demo.json"
    try:
        demo: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise PayError(f"no {path}: start the local stack first (`make dev`), or pass --data-dir") from None
    except ValueError as exc:
        raise PayError(f"{path} is not JSON: {exc}") from None
    missing = [k for k in ("rpc_url", "diamond_address", "token_address", "payer_private_key") if not demo.get(k)]
    if missing:
        raise PayError(f"{path} has no chain ({', '.join(missing)}): the local stack runs with --no-chain")
    return demo


def integrator_token(demo: dict[str, Any]) -> str:
    r = http("POST", f"{demo['api_url']}/api/v1/auth/token", body=demo["integrations"]["root"])
    if r.status != 200 or not isinstance(r.body, dict) or "access_token" not in r.body:
        raise PayError(f"cannot get a token for the demo root integration: {r.describe()}")
    return str(r.body["access_token"])


def get_payment(demo: dict[str, Any], token: str, payment_id: str) -> dict[str, Any]:
    r = http("GET", f"{demo['api_url']}/api/v1/payments/{payment_id}", token=token)
    if r.status == 404:
        raise PayError(f"no payment {payment_id} ({r.describe()})")
    if r.status != 200 or not isinstance(r.body, dict):
        raise PayError(f"cannot read payment {payment_id}: {r.describe()}")
    payment: dict[str, Any] = r.body
    return payment


def check_payable(payment: dict[str, Any]) -> None:
    if payment.get("payment_method") != "web3":
        raise PayError(f"payment {payment['id']} is a {payment.get('payment_method')} payment, not web3")
    status = str(payment.get("status"))
    if status in NOTHING_TO_PAY:
        raise PayError(f"payment {payment['id']} is {status}: nothing to pay")
    if payment.get("deal_id") is None:
        raise PayError(
            f"the payment has no deal yet (status {status}): wait for status open "
            "(the create-deal worker puts it on chain), or pass --wait SECONDS"
        )
    if status != "open":
        raise PayError(f"payment {payment['id']} is {status}, not open: it cannot be paid now")


def wait_for_deal(demo: dict[str, Any], token: str, payment: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Poll the payment (at most `seconds`) while it waits for its deal."""
    deadline = time.monotonic() + seconds
    while payment.get("deal_id") is None and str(payment.get("status")) in {"pending", "sending", "send-failed"}:
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
        payment = get_payment(demo, token, str(payment["id"]))
    return payment


def widget_plan(demo: dict[str, Any], payment: dict[str, Any], *, wait: float = 0.0) -> Plan | None:
    """The calls the widget data names; None when the stack has no widget route. A 202 (the deal is not
    verified at the network's confirmations yet) is polled for at most `wait` seconds."""
    url = f"{demo['api_url']}/api/v1/widget/payments/{payment['id']}"
    deadline = time.monotonic() + wait
    r = http("GET", url, token=str(payment["access_token"]))
    while r.status == 202 and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        r = http("GET", url, token=str(payment["access_token"]))
    if (r.status == 404 and r.error_code() == "route_not_found") or r.status == 403:
        return None
    if r.status == 401:
        print(
            f"devstack.pay: warning: the widget refused the payment's access_token ({r.describe()}); "
            "building the calls from demo.json instead",
            file=sys.stderr,
            flush=True,
        )
        return None
    if r.status == 202:
        raise PayError(
            "the payment has no verified deal yet (the widget says to poll): pass --wait SECONDS "
            "(the watcher verifies a deal at the network's required confirmations)"
        )
    if r.status != 200 or not isinstance(r.body, dict):
        raise PayError(f"the widget data of payment {payment['id']} is not available: {r.describe()}")
    data = r.body
    if data.get("deal_id") is None:
        raise PayError("the payment has no deal yet: wait for status open")
    return Plan(
        source="widget",
        deal_id=int(data["deal_id"]),
        evm_chain_id=int(data["network_id"]),
        amount_units=int(data["amount_units"]),
        approve=Call.from_widget(data.get("approve"), "approve"),
        contract=Call.from_widget(data.get("contract"), "contract"),
    )


def fallback_plan(demo: dict[str, Any], payment: dict[str, Any], decimals: int) -> Plan:
    """What the widget would say, from demo.json and the payment: approve the token, then deposit(deal_id)."""
    from payments_core import money

    deal_id = int(payment["deal_id"])
    amount = money.to_minor_units(Decimal(str(payment["paid_price"])), decimals)
    token_abi: list[dict[str, Any]] = [e for e in chain.load_artifact("MockUSDT")["abi"] if e["type"] == "function"]
    facet_abi: list[dict[str, Any]] = [
        e for e in chain.load_artifact("PaymentsFacet")["abi"] if e["type"] == "function" and e["name"] == "deposit"
    ]
    return Plan(
        source="demo.json",
        deal_id=deal_id,
        evm_chain_id=int(demo.get("evm_chain_id", chain.CHAIN_ID)),
        amount_units=amount,
        approve=Call(demo["token_address"], token_abi, "approve", [demo["diamond_address"], amount]),
        contract=Call(demo["diamond_address"], facet_abi, "deposit", [deal_id]),
    )


# -------------------------------------------------------------------------------------------- pay
def _arguments(w3: Any, call: Call) -> list[Any]:
    """The call's JSON arguments in the types web3 wants (checksum addresses, integers)."""
    matches = [e for e in call.abi if e.get("type") == "function" and e.get("name") == call.function_name]
    if not matches:
        raise PayError(f"{call.function_name} is not in the ABI given for {call.address}")
    inputs = [i["type"] for i in matches[0].get("inputs", [])]
    if len(inputs) != len(call.arguments):
        raise PayError(f"{call.function_name} takes {len(inputs)} argument(s), the widget gave {len(call.arguments)}")
    out: list[Any] = []
    for kind, value in zip(inputs, call.arguments, strict=True):
        if kind == "address":
            out.append(w3.to_checksum_address(str(value)))
        elif kind.startswith(("uint", "int")):
            out.append(int(value))
        else:
            out.append(value)
    return out


def send_call(w3: Any, call: Call, private_key: str, label: str) -> Any:
    contract = w3.eth.contract(address=w3.to_checksum_address(call.address), abi=call.abi)
    bound = contract.functions[call.function_name](*_arguments(w3, call))
    print(f"{label:8} {call.describe()}", flush=True)
    try:
        receipt = chain.transact(
            w3,
            bound,
            private_key,
            timeout=RECEIPT_TIMEOUT,
            on_sent=lambda h: print(f"{'':8} tx {h}", flush=True),
        )
    except chain.ChainError as exc:
        raise PayError(f"{label} failed: {exc}") from None
    print(f"{'':8} mined in block {receipt['blockNumber']} (gas {receipt['gasUsed']})", flush=True)
    return receipt


DEAL_STATUSES = ("None", "Open", "Paid", "Cancelled", "Refunded")


def check_deal(w3: Any, plan: Plan) -> None:
    """The deal on chain must be Open and not expired (nothing is sent otherwise, not even the approval)."""
    facet = chain.contract_at(w3, "PaymentsFacet", plan.contract.address)
    try:
        deal = facet.functions.getDeal(plan.deal_id).call()
    except Exception as exc:
        data = getattr(exc, "data", None)
        reason = (chain.decode_error(data) if isinstance(data, str) else None) or str(exc)
        raise PayError(f"deal {plan.deal_id} cannot be read from {plan.contract.address}: {reason}") from None
    expires_at, status = int(deal[5]), int(deal[7])
    if status != 1:
        name = DEAL_STATUSES[status] if 0 <= status < len(DEAL_STATUSES) else str(status)
        raise PayError(f"deal {plan.deal_id} is {name} on chain, not Open: nothing to pay")
    now = int(w3.eth.get_block("latest")["timestamp"])
    if expires_at <= now:
        raise PayError(f"deal {plan.deal_id} expired at {expires_at} (chain time {now})")
    if int(deal[4]) != plan.amount_units:
        raise PayError(f"deal {plan.deal_id} is for {int(deal[4])} units, the widget says {plan.amount_units}")


def pay(payment_id: str, data_dir: Path, *, wait: float = 0.0) -> int:
    demo = load_demo(data_dir)
    token = integrator_token(demo)
    payment = get_payment(demo, token, payment_id)
    if wait > 0:
        payment = wait_for_deal(demo, token, payment, wait)
    check_payable(payment)

    w3 = chain.connect(demo["rpc_url"])
    try:
        evm_chain_id = int(w3.eth.chain_id)
    except Exception as exc:
        raise PayError(f"no chain at {demo['rpc_url']}: {exc} (is the local stack running?)") from None
    plan = widget_plan(demo, payment, wait=wait)
    if plan is None:
        decimals = int(chain.contract_at(w3, "MockUSDT", demo["token_address"]).functions.decimals().call())
        plan = fallback_plan(demo, payment, decimals)
    if plan.evm_chain_id != evm_chain_id:
        raise PayError(f"the payment's network is chain {plan.evm_chain_id}, {demo['rpc_url']} is {evm_chain_id}")

    check_deal(w3, plan)
    key = str(demo["payer_private_key"])
    payer = chain.address_of(key)
    token_contract = chain.contract_at(w3, "MockUSDT", plan.approve.address)
    balance = int(token_contract.functions.balanceOf(payer).call())
    if balance < plan.amount_units:
        raise PayError(f"the payer {payer} holds {balance} units of the token, the payment needs {plan.amount_units}")
    print(
        f"paying payment {payment_id} (deal {plan.deal_id}, {plan.amount_units} units) as {payer}; "
        f"calls from the {plan.source}",
        flush=True,
    )
    send_call(w3, plan.approve, key, "approve")
    receipt = send_call(w3, plan.contract, key, plan.contract.function_name)
    print(
        f"paid: deal {plan.deal_id} in block {receipt['blockNumber']}; the payment moves to paid, then confirmed "
        "once the watcher sees enough confirmations",
        flush=True,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m devstack.pay", description="Pay a local payment as the demo payer.")
    p.add_argument("payment_id")
    p.add_argument("--data-dir", type=Path, default=Path(".dev"), help="where demo.json is (default .dev)")
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for the payment's deal (default 0)")
    args = p.parse_args(argv)
    try:
        return pay(args.payment_id, args.data_dir, wait=args.wait)
    except PayError as exc:
        print(f"devstack.pay: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
