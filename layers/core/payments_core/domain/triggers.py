"""NoRamp's triggers: the call a paid payment runs on a chain, with its parameters (`/triggers/{app_id}`).

A trigger is stored as a catalog entry of its app (`trigger#tri_...`, listed through the `by_app` index). Its
`call_data` is stored as the request gave it, normalised (store_call_data): integers beyond a DynamoDB number (wei,
yoctoNEAR) as decimal text, the ABI fragment without what is ignored (`outputs`, `internalType`).

The EVM call binds each ABI input to a source (`args`, one per input, in order): `{"param": name}` takes the
trigger's parameter `name` (fixed by the price's `trigger_data` or given at checkout), which must be declared with
the input's exact type and be neither optional nor nullable (an ABI argument always has a value); `{"value": v}` is a
literal, checked against the input's type now. Only `evm` is executed by the platform (next issue); `near`, `wax`
and `solana` are validated and stored and their execution answers `chain_not_supported`.

The wallet (`wallet_id`, `wal_...`) is checked for its form only: the app's managed signing wallets (their store)
come with the execution.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from payments_core.domain import params
from payments_core.domain.apps import reach_app
from payments_core.domain.entities import Price, Trigger
from payments_core.domain.stores import StaleWrite
from payments_core.errors import Conflict, NotFound, ValidationFailed, field_error
from payments_core.models.common import utcnow
from payments_core.models.triggers import (
    CallData,
    CreateTriggerRequest,
    ParamDefinition,
    ParamDefinitionOut,
    TriggerDeleted,
    TriggerList,
    TriggerResponse,
    UpdateTriggerRequest,
)

if TYPE_CHECKING:
    from payments_core.domain.access import Principal
    from payments_core.domain.stores import CatalogStore

MAX_PER_PAGE = 100
_LIST_CHUNK = 100


def new_trigger_id() -> str:
    return f"tri_{secrets.token_hex(16)}"


def stamp(now: datetime | None = None) -> str:
    return (now or utcnow()).isoformat(timespec="microseconds").replace("+00:00", "Z")


def later_stamp(previous: str, now: datetime | None = None) -> str:
    """A new `updated_at`, later than `previous` (the optimistic write compares it: two changes in one
    microsecond must not carry the same one)."""
    current = stamp(now)
    if current > previous:
        return current
    moment = datetime.fromisoformat(previous)
    return stamp(moment + timedelta(microseconds=1))


# ------------------------------------------------------------------------------------------------ stored forms
def store_params(defs: Mapping[str, ParamDefinition] | None) -> dict[str, Any] | None:
    if not defs:
        return None
    return {
        key: {"name": key, "type": d.type, "optional": d.optional, "nullable": d.nullable} for key, d in defs.items()
    }


def store_call_data(call_data: CallData) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if call_data.evm is not None:
        e = call_data.evm
        out["evm"] = {
            "contract": e.contract,
            "function": {
                "type": "function",
                "name": e.function.name,
                "inputs": [{"name": i.name, "type": i.type} for i in e.function.inputs],
                "stateMutability": e.function.stateMutability,
            },
            "args": [{"param": a.param} if a.param is not None else {"value": a.value} for a in e.args],
            "value": str(e.value),
            "gas_limit": e.gas_limit,
        }
    if call_data.near is not None:
        n = call_data.near
        out["near"] = {
            "contract_id": n.contract_id,
            "method_name": n.method_name,
            "method_type": n.method_type,
            "attached_deposit_amount": str(n.attached_deposit_amount),
            "gas_amount": n.gas_amount,
            "data": n.data,
        }
    if call_data.wax is not None:
        out["wax"] = call_data.wax.model_dump(mode="python")
    if call_data.solana is not None:
        out["solana"] = call_data.solana.model_dump(mode="python")
    return out


def check_bindings(call_data: Mapping[str, Any], params_data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The EVM call's `args` against its function's inputs and the trigger's parameters (see the module); the
    call data with each literal in its canonical, storable form. ValidationFailed naming each bad binding."""
    evm = call_data.get("evm")
    if not evm:
        return dict(call_data)
    declared = params.specs(params_data)
    inputs = evm["function"]["inputs"]
    args = evm["args"]
    where = "body.call_data.evm.args"
    details: list[dict[str, Any]] = []
    if len(args) != len(inputs):
        details.append(
            field_error(where, "args_mismatch", f"give one binding per input of the function: {len(inputs)}, in order")
        )
        raise ValidationFailed("The trigger's call data is not valid", details=details)
    bound: list[dict[str, Any]] = []
    for i, (arg, abi_input) in enumerate(zip(args, inputs, strict=True)):
        field = f"{where}.{i}"
        if "param" in arg:
            spec = declared.get(arg["param"])
            if spec is None:
                details.append(field_error(f"{field}.param", "unknown_param", "the trigger declares no such parameter"))
            elif spec.type != abi_input["type"]:
                details.append(
                    field_error(
                        f"{field}.param",
                        "param_type_mismatch",
                        f"the parameter is {spec.type}, the input {abi_input['type']}: declare it with the "
                        "input's type",
                    )
                )
            elif spec.optional or spec.nullable:
                details.append(
                    field_error(
                        f"{field}.param",
                        "param_not_bindable",
                        "a parameter bound to an ABI input must be neither optional nor nullable",
                    )
                )
            bound.append({"param": arg["param"]})
            continue
        try:
            value = params.validate_value(abi_input["type"], arg.get("value"), field=f"{field}.value")
        except ValidationFailed as exc:
            details.extend(exc.details)
            continue
        bound.append({"value": params.storable({"v": value})["v"]})
    if details:
        raise ValidationFailed("The trigger's call data is not valid", details=details)
    return {**call_data, "evm": {**evm, "args": bound}}


def chain_and_contract(call_data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The chain a trigger runs on and its contract, as a price shows them (`evm` first when several are given)."""
    for chain, key in (("evm", "contract"), ("near", "contract_id"), ("wax", "contract"), ("solana", "program_id")):
        data = call_data.get(chain)
        if data:
            return chain, str(data[key])
    return None, None


# ------------------------------------------------------------------------------------------------ answers
def trigger_view(trigger: Trigger) -> TriggerResponse:
    defs = params.specs(trigger.params_data)
    return TriggerResponse(
        id=trigger.id,
        app_id=trigger.app_id,
        wallet_id=trigger.wallet_id,
        name=trigger.name,
        call_data=dict(trigger.call_data),
        params_data={k: ParamDefinitionOut(**s._asdict()) for k, s in defs.items()} if defs else None,
        created_at=datetime.fromisoformat(trigger.created_at),
        updated_at=datetime.fromisoformat(trigger.updated_at),
    )


def live_trigger(catalog: CatalogStore, app_id: str, trigger_id: str) -> Trigger | None:
    """The app's trigger `trigger_id`, unless it is unknown, another app's or deleted."""
    if not trigger_id.startswith("tri_") or len(trigger_id) > 64:
        return None
    trigger = catalog.get(Trigger, trigger_id)
    if trigger is None or trigger.app_id != app_id or trigger.deleted:
        return None
    return trigger


def _trigger(catalog: CatalogStore, app_id: str, trigger_id: str) -> Trigger:
    trigger = live_trigger(catalog, app_id, trigger_id)
    if trigger is None:
        raise NotFound("No such trigger", code="trigger_not_found")
    return trigger


def live_prices(catalog: CatalogStore, app_id: str) -> Iterator[Price]:
    """Every live price of the app (deleted ones are not in the app's listing), a page at a time."""
    offset = 0
    while True:
        page, total = catalog.list_of_app(Price, app_id, offset=offset, limit=_LIST_CHUNK)
        yield from (p for p in page if not p.deleted)
        offset += len(page)
        if not page or offset >= total:
            return


def _users(catalog: CatalogStore, trigger: Trigger) -> list[Price]:
    return [p for p in live_prices(catalog, trigger.app_id) if p.trigger_id == trigger.id]


# ------------------------------------------------------------------------------------------------ routes
def create_trigger(
    catalog: CatalogStore, principal: Principal, app_id: str, body: CreateTriggerRequest, *, now: datetime | None = None
) -> TriggerResponse:
    app = reach_app(catalog, principal, app_id)
    params_data = store_params(body.params_data)
    call_data = check_bindings(store_call_data(body.call_data), params_data)
    at = stamp(now)
    trigger = Trigger(
        id=new_trigger_id(),
        app_id=app.id,
        wallet_id=body.wallet_id,
        name=body.name,
        call_data=call_data,
        params_data=params_data,
        created_at=at,
        updated_at=at,
    )
    catalog.put_new(trigger)
    return trigger_view(trigger)


def get_trigger(catalog: CatalogStore, principal: Principal, app_id: str, trigger_id: str) -> TriggerResponse:
    app = reach_app(catalog, principal, app_id)
    return trigger_view(_trigger(catalog, app.id, trigger_id))


def list_triggers(catalog: CatalogStore, principal: Principal, app_id: str, *, page: int, per_page: int) -> TriggerList:
    app = reach_app(catalog, principal, app_id)
    found, total = catalog.list_of_app(Trigger, app.id, offset=(page - 1) * per_page, limit=per_page)
    return TriggerList(
        items=[trigger_view(t) for t in found if not t.deleted], page=page, per_page=per_page, total=total
    )


def _updated(trigger: Trigger, body: UpdateTriggerRequest, now: datetime | None) -> Trigger:
    given = body.model_fields_set
    params_data = store_params(body.params_data) if "params_data" in given else trigger.params_data
    call_data = store_call_data(body.call_data) if body.call_data is not None else dict(trigger.call_data)
    return trigger._replace(
        wallet_id=body.wallet_id if body.wallet_id is not None else trigger.wallet_id,
        name=body.name if body.name is not None else trigger.name,
        params_data=params_data,
        call_data=check_bindings(call_data, params_data),
        updated_at=later_stamp(trigger.updated_at, now),
    )


def _prices_still_valid(catalog: CatalogStore, new: Trigger) -> None:
    """A change of the parameters must leave every live price of the trigger checkout-able: the values each
    fixes must still be valid (409 trigger_in_use naming the first that is not)."""
    for price in _users(catalog, new):
        fixed = (price.trigger_data or {}).get("params_data") or {}
        try:
            params.validate_params(new.params_data, fixed, field="trigger_data.params_data", partial=True)
        except ValidationFailed:
            raise Conflict(
                f"Price {price.id} fixes parameters the changed trigger no longer accepts; delete the price first",
                code="trigger_in_use",
            ) from None


def update_trigger(
    catalog: CatalogStore,
    principal: Principal,
    app_id: str,
    trigger_id: str,
    body: UpdateTriggerRequest,
    *,
    now: datetime | None = None,
) -> TriggerResponse:
    app = reach_app(catalog, principal, app_id)
    for attempt in range(2):
        old = _trigger(catalog, app.id, trigger_id)
        new = _updated(old, body, now)
        if new.params_data != old.params_data:
            _prices_still_valid(catalog, new)
        try:
            catalog.replace(old, new)
        except StaleWrite:
            if attempt:
                raise Conflict("The trigger kept changing; try again", code="concurrent_update") from None
            continue
        return trigger_view(new)
    raise AssertionError("unreachable")  # pragma: no cover


def delete_trigger(
    catalog: CatalogStore, principal: Principal, app_id: str, trigger_id: str, *, now: datetime | None = None
) -> TriggerDeleted:
    """Marks the trigger deleted (GET answers 404 after); 409 `trigger_in_use` while a live price names it.

    A price created at the same moment can still name it (the two writes are not one transaction): checkout reads
    the price's trigger and must refuse a deleted one (`live_trigger` answers None for it)."""
    app = reach_app(catalog, principal, app_id)
    for attempt in range(2):
        old = _trigger(catalog, app.id, trigger_id)
        users = _users(catalog, old)
        if users:
            raise Conflict(
                f"The trigger is used by {len(users)} live price(s) ({users[0].id}, ...); delete them first",
                code="trigger_in_use",
            )
        try:
            catalog.replace(old, old._replace(deleted=True, updated_at=later_stamp(old.updated_at, now)))
        except StaleWrite:
            if attempt:
                raise Conflict("The trigger kept changing; try again", code="concurrent_update") from None
            continue
        return TriggerDeleted(id=old.id)
    raise AssertionError("unreachable")  # pragma: no cover
