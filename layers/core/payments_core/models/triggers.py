"""NoRamp's triggers (`/triggers/{app_id}`): the call a payment runs on a chain once paid, and its parameters.

The request models check each field alone (types, forms, bounds); how the EVM call's arguments are bound to the
trigger's parameters is checked by domain/triggers.py on the whole trigger (also after a PATCH).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from payments_core import evm, solidity
from payments_core.domain import params
from payments_core.models.common import ApiModel, Model, Timestamp

MAX_NAME = 128
MAX_INPUTS = 32
MAX_DATA_TEXT = 8192
GAS_LIMIT_MIN = 21_000
GAS_LIMIT_MAX = 30_000_000
NEAR_MAX_GAS = 300 * 10**12  # NEAR's per-call gas ceiling (300 Tgas)
UINT128_MAX = 2**128 - 1
UINT256_MAX = 2**256 - 1

TRIGGER_ID_PATTERN = r"^tri_[0-9a-f]{32}$"
WALLET_ID_PATTERN = r"^wal_[A-Za-z0-9]{8,64}$"
_NEAR_ACCOUNT = r"^(([a-z0-9]+[-_])*[a-z0-9]+\.)*([a-z0-9]+[-_])*[a-z0-9]+$"  # NEAR's account id rule, 2-64
_WAX_NAME = r"^[a-z1-5.]{1,12}$"  # an EOSIO/Antelope name
_BASE58_KEY = r"^[1-9A-HJ-NP-Za-km-z]{32,44}$"  # a Solana public key (32 bytes, base58)


def _whole(low: int, high: int, what: str) -> Any:
    """An integer given as a JSON integer or a string of decimal digits (wei, yoctoNEAR: beyond a client's
    number), within low..high; kept as the int."""

    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise PydanticCustomError("int_type", f"must be an integer {what}")
        if isinstance(value, str):
            if len(value) > 80 or not value.isascii() or not value.isdigit() or (value != "0" and value[0] == "0"):
                raise PydanticCustomError("int_parsing", f"must be an integer {what} in decimal digits")
            value = int(value)
        elif isinstance(value, Decimal):
            if not value.is_finite() or value.adjusted() > 80 or value != value.to_integral_value():
                raise PydanticCustomError("int_from_fraction", f"must be an integer {what}")
            value = int(value)
        elif not isinstance(value, int):
            raise PydanticCustomError("int_type", f"must be an integer {what}")
        number: int = value
        if not low <= number <= high:
            raise PydanticCustomError("int_out_of_range", f"must be from {low} to {high}")
        return number

    return BeforeValidator(check)


_WHOLE_SCHEMA = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^(0|[1-9][0-9]*)$"}]}


def _data_object(value: Any) -> Any:
    """A JSON object of data as given (NEAR's `data`, an action's arguments), at most MAX_DATA_TEXT long as JSON;
    its numbers within DynamoDB's bounds."""
    problem = params.json_object_problem(value, MAX_DATA_TEXT)
    if problem is not None:
        raise PydanticCustomError(*problem)
    return value


DataObject = Annotated[
    dict[str, Any],
    BeforeValidator(_data_object),
    WithJsonSchema({"type": "object", "description": f"A JSON object, at most {MAX_DATA_TEXT} characters as JSON"}),
]


# ------------------------------------------------------------------------------------------------ parameters
def _param_type(value: Any) -> Any:
    problem = params.type_problem(value)
    if problem is not None:
        raise PydanticCustomError("invalid_type", problem)
    return params.canonical_type(value)


ParamType = Annotated[
    str,
    BeforeValidator(_param_type),
    WithJsonSchema(
        {
            "type": "string",
            "description": "A Solidity ABI type (`address`, `bool`, `string`, `bytes`, `bytes1`..`bytes32`, "
            "`uint8`..`uint256`, `int8`..`int256`, arrays `T[]`, `T[k]`) or `number` (an exact decimal)",
            "examples": ["address", "uint256", "string", "number"],
        }
    ),
]


class ParamDefinition(ApiModel):
    """One parameter of the trigger: NoRamp's `{"name", "optional", "nullable"}` and its type."""

    name: Annotated[str, StringConstraints(pattern=params.NAME.pattern)] | None = Field(
        default=None, description="The parameter's name: its key in `params_data` (when given, equal to it)"
    )
    type: ParamType = Field(default="string", description="Default `string`")
    optional: StrictBool = Field(default=False, description="May be left out at checkout")
    nullable: StrictBool = Field(default=False, description="May be `null`")


def _param_names(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) > params.MAX_PARAMS:
            raise PydanticCustomError("too_long", f"at most {params.MAX_PARAMS} parameters")
        for key, definition in value.items():
            if isinstance(definition, dict) and definition.get("name") not in (None, key):
                raise PydanticCustomError("param_name_mismatch", "a parameter's `name` is its key in `params_data`")
            if not params.NAME.fullmatch(key):
                raise PydanticCustomError(
                    "invalid_param_name", f"{key[:64]!r}: a parameter's name is a letter or _, then letters, digits, _"
                )
    return value


ParamsData = Annotated[dict[str, ParamDefinition], BeforeValidator(_param_names)]


# ------------------------------------------------------------------------------------------------ EVM
def _solidity_type(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "must be a Solidity type")
    try:
        return solidity.canonical(value)
    except solidity.TypeProblem as exc:
        raise PydanticCustomError("invalid_type", str(exc)) from None


SolidityType = Annotated[
    str, BeforeValidator(_solidity_type), WithJsonSchema({"type": "string", "examples": ["uint256"]})
]


def _identifier(value: Any) -> Any:
    if not solidity.is_identifier(value):
        raise PydanticCustomError("invalid_identifier", "must be a Solidity identifier (letters, digits, _ and $)")
    return value


Identifier = Annotated[str, BeforeValidator(_identifier), WithJsonSchema({"type": "string", "maxLength": 64})]


class AbiInput(ApiModel):
    name: Identifier | Literal[""] = Field(default="", description="The input's name (may be empty, as in an ABI)")
    type: SolidityType
    internalType: str | None = Field(default=None, max_length=256, description="Ignored (solc writes it)")


class AbiFunction(ApiModel):
    """An ABI fragment of one function, as solc and ethers write it (`outputs` and `internalType` are accepted
    and ignored). A trigger changes state: `view` and `pure` functions are refused."""

    type: Literal["function"] = "function"
    name: Identifier
    inputs: Annotated[list[AbiInput], Field(max_length=MAX_INPUTS)] = Field(default_factory=list)
    outputs: Annotated[list[dict[str, Any]], Field(max_length=MAX_INPUTS)] | None = Field(
        default=None, description="Ignored"
    )
    stateMutability: Literal["nonpayable", "payable"] = "nonpayable"

    def signature(self) -> str:
        return f"{self.name}({','.join(i.type for i in self.inputs)})"


class ParamBinding(ApiModel):
    """Where one ABI input's value comes from: `{"param": "<name>"}` (a parameter of the trigger, fixed by the
    price or given at checkout) or `{"value": <literal>}` (always that value, checked against the input's type)."""

    param: Annotated[str, StringConstraints(pattern=params.NAME.pattern)] | None = None
    value: Any = Field(default=None, json_schema_extra={"description": "A literal of the input's type"})

    @model_validator(mode="before")
    @classmethod
    def _one_source(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("param" in data) == ("value" in data):
            raise PydanticCustomError("binding_source", 'give exactly one of "param" or "value"')
        return data


class EvmCallData(ApiModel):
    """An EVM call: run by the platform's chain worker, signed by the trigger's wallet, after payment."""

    contract: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="The contract's address: 0x and 40 hex digits (mixed case must be its EIP-55 checksum)"
    )
    function: AbiFunction
    args: Annotated[list[ParamBinding], Field(max_length=MAX_INPUTS)] = Field(
        default_factory=list, description="One binding per input of `function`, in order"
    )
    value: Annotated[int, _whole(0, UINT256_MAX, "of wei"), WithJsonSchema(_WHOLE_SCHEMA)] = Field(
        default=0, description="Native value sent with the call, in wei (only to a payable function)"
    )
    gas_limit: Annotated[int, _whole(GAS_LIMIT_MIN, GAS_LIMIT_MAX, "of gas"), WithJsonSchema(_WHOLE_SCHEMA)] = Field(
        description=f"Gas limit of the call, {GAS_LIMIT_MIN} to {GAS_LIMIT_MAX}"
    )

    @field_validator("contract")
    @classmethod
    def _address(cls, value: str) -> str:
        problem = evm.address_problem(value)
        if problem is not None:
            raise PydanticCustomError(*problem)
        return value


# ------------------------------------------------------------------------------------------------ other chains
class NearCallData(ApiModel):
    """NoRamp's documented NEAR call (validated and stored; not executed here: `chain_not_supported`)."""

    contract_id: Annotated[str, StringConstraints(min_length=2, max_length=64, pattern=_NEAR_ACCOUNT)]
    method_name: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    method_type: Literal["change", "view"]
    attached_deposit_amount: Annotated[int, _whole(0, UINT128_MAX, "of yoctoNEAR"), WithJsonSchema(_WHOLE_SCHEMA)] = (
        Field(default=0, description="yoctoNEAR (10^-24 NEAR), an integer")
    )
    gas_amount: Annotated[int, _whole(0, NEAR_MAX_GAS, "of gas"), WithJsonSchema(_WHOLE_SCHEMA)] = Field(
        default=30 * 10**12, description="Gas units (at most 300 Tgas)"
    )
    data: DataObject = Field(default_factory=dict, description="The method's JSON arguments")


class WaxCallData(ApiModel):
    """A WAX (Antelope) action (validated and stored; not executed here: `chain_not_supported`)."""

    contract: Annotated[str, StringConstraints(pattern=_WAX_NAME)] = Field(description="The contract's account name")
    action: Annotated[str, StringConstraints(pattern=_WAX_NAME)]
    data: DataObject = Field(default_factory=dict, description="The action's JSON arguments")


class SolanaAccount(ApiModel):
    pubkey: Annotated[str, StringConstraints(pattern=_BASE58_KEY)]
    is_signer: StrictBool = False
    is_writable: StrictBool = False


class SolanaCallData(ApiModel):
    """A Solana instruction (validated and stored; not executed here: `chain_not_supported`)."""

    program_id: Annotated[str, StringConstraints(pattern=_BASE58_KEY)]
    accounts: Annotated[list[SolanaAccount], Field(max_length=64)] = Field(default_factory=list)
    data: DataObject = Field(default_factory=dict, description="The instruction's JSON arguments")


class CallData(ApiModel):
    """The call per chain; at least one. Only `evm` runs on this platform (after payment, next issue); `near`,
    `wax` and `solana` are stored as given and their execution answers `transaction_response.error`
    `chain_not_supported`."""

    evm: EvmCallData | None = None
    near: NearCallData | None = None
    wax: WaxCallData | None = None
    solana: SolanaCallData | None = None

    @model_validator(mode="after")
    def _some_chain(self) -> CallData:
        if all(getattr(self, chain) is None for chain in CHAINS):
            raise PydanticCustomError(
                "call_data_empty", "give the call for at least one chain (evm, near, wax, solana)"
            )
        return self


CHAINS = ("evm", "near", "wax", "solana")

TriggerName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)]
WalletId = Annotated[str, StringConstraints(pattern=WALLET_ID_PATTERN)]

TRIGGER_EXAMPLE: dict[str, Any] = {
    "wallet_id": "wal_00000000000000000000000000000001",
    "name": "Mint the ticket",
    "params_data": {"to": {"name": "to", "type": "address"}, "seat": {"name": "seat", "type": "uint256"}},
    "call_data": {
        "evm": {
            "contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "function": {
                "name": "mint",
                "type": "function",
                "stateMutability": "nonpayable",
                "inputs": [{"name": "to", "type": "address"}, {"name": "seat", "type": "uint256"}],
            },
            "args": [{"param": "to"}, {"param": "seat"}],
            "value": "0",
            "gas_limit": 200000,
        }
    },
}


class CreateTriggerRequest(ApiModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, defer_build=True, json_schema_extra={"examples": [TRIGGER_EXAMPLE]}
    )

    wallet_id: WalletId = Field(description="The app's managed signing wallet (`wal_` id) that signs the call")
    name: TriggerName = Field(description=f"At most {MAX_NAME} characters")
    call_data: CallData
    params_data: ParamsData | None = Field(
        default=None, description=f"The trigger's parameters by name (at most {params.MAX_PARAMS})"
    )


class UpdateTriggerRequest(ApiModel):
    """Any of the trigger's fields; `params_data: null` removes every parameter."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, defer_build=True, json_schema_extra={"examples": [{"name": "Mint (v2)"}]}
    )

    wallet_id: WalletId | None = None
    name: TriggerName | None = None
    call_data: CallData | None = None
    params_data: ParamsData | None = None


# ------------------------------------------------------------------------------------------------ answers
class ParamDefinitionOut(Model):
    name: str
    type: str
    optional: bool
    nullable: bool


class TriggerResponse(Model):
    id: str = Field(description="`tri_` and 32 hex digits")
    app_id: str
    wallet_id: str
    name: str
    call_data: dict[str, Any] = Field(description="As stored: per chain, `evm`, `near`, `wax`, `solana`")
    params_data: dict[str, ParamDefinitionOut] | None = None
    created_at: Timestamp
    updated_at: Timestamp


class TriggerList(Model):
    items: list[TriggerResponse]
    page: int
    per_page: int
    total: int = Field(description="Exact number of the app's triggers (deleted ones left out)")


class TriggerDeleted(Model):
    id: str
    deleted: Literal[True] = True
