"""The domain's entities: a payment, its log entries and each catalog entry, as the stores return and take them.

Immutable `NamedTuple`s: defining one costs a tenth of what a frozen dataclass does at import (a cold start
defines them all; `make bench` measures it), and `_replace` gives the changed copy a status move writes
(mypy checks its fields and types). Values are typed once, in the store's codec (store/codec.py):
integers are `int` (never DynamoDB's Decimal), decimals `Decimal`, absent attributes `None`; domain code
reads attributes, never `record["..."]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

from payments_core.models.enums import PaymentGroup, PaymentMethod, PaymentStatus, ProviderMethod

if TYPE_CHECKING:
    from payments_core.fees import PriceItem


# ---------------------------------------------------------------------------------------------- the catalog
class Node(NamedTuple):
    """A node of the tenant tree; `path` is the ids from the root down to itself (nodes never move)."""

    id: str
    name: str
    path: tuple[str, ...]
    parent_id: str | None = None
    created_at: str = ""


class Chain(NamedTuple):
    id: str
    name: str
    created_at: str = ""


class Network(NamedTuple):
    id: str
    chain_id: str
    name: str
    evm_chain_id: int
    rpc_url: str | None = None  # legacy: only on a stack from before RPC URLs moved to Secrets Manager
    diamond_address: str | None = None
    required_confirmations: int = 1
    platform_wallet_id: str | None = None  # signs the deals of payments that name no wallet
    block_time_seconds: Decimal | None = None  # the watcher's fallback when it cannot measure
    created_at: str = ""
    # More platform wallets (decision 0045): payments that name no wallet are spread over the platform wallet
    # and these, each signer one lane (its own nonces, its own FIFO group); each is a platform wallet of the
    # diamond (setPlatformWallet) with its key stored.
    signing_pool: tuple[str, ...] = ()

    @property
    def platform_signers(self) -> tuple[str, ...]:
        """The wallets that sign for payments naming none: the platform wallet first, then the pool."""
        if not self.platform_wallet_id:
            return ()
        return (self.platform_wallet_id, *(w for w in self.signing_pool if w != self.platform_wallet_id))


class Currency(NamedTuple):
    id: str
    symbol: str
    decimals: int
    tokens: Mapping[str, str] = {}  # network id -> the token's contract address there
    max_amount: Decimal | None = None  # None: money.default_max_amount(decimals)
    created_at: str = ""


class Wallet(NamedTuple):
    id: str
    node_id: str
    address: str
    network_id: str | None = None  # None: any network
    owner_wallet_id: str | None = None  # the wallet whose key signs for this one
    name: str | None = None
    created_at: str = ""


class Member(NamedTuple):
    id: str
    node_id: str
    external_id: str | None = None
    name: str | None = None
    surname: str | None = None
    email: str | None = None
    created_at: str = ""


class Integration(NamedTuple):
    """An integrator's client credentials: `id` is the client id; the secret's hash is in the secrets table
    (store.integration_secrets), read by the token endpoint only."""

    id: str
    node_id: str
    name: str
    status: str = "active"
    created_at: str = ""
    secret_hash: str | None = None  # legacy: only on a stack from before the secrets table (migrate-secrets)


# ---------------------------------------------------------------------------------------------- NoRamp's apps
# An app belongs to a node (an integration reaches the apps of the nodes it reaches); its API keys, prices and
# triggers belong to the app. All are catalog entries; the app-scoped ones (`APP_SCOPED`) also carry `app_id`
# and are listed per app through the catalog's `by_app` index (store.catalog.DynamoCatalogStore.list_of_app).
class ThemeColors(NamedTuple):
    """NoRamp's six theme colours (CSS colour values)."""

    primary: str
    background: str
    text: str
    accent: str
    alternativeBackground: str  # NoRamp's name (camelCase in its API)
    info: str


class Theme(NamedTuple):
    id: str
    name: str
    colors: ThemeColors
    visibility: str = "public"  # public | private
    created_at: str = ""
    updated_at: str = ""


class AppOwner(NamedTuple):
    """The app's owner (NoRamp's `user`)."""

    id: str
    username: str
    first_name: str | None = None
    last_name: str | None = None


class App(NamedTuple):
    id: str  # app_<32 hex>
    node_id: str
    node_path: tuple[str, ...]  # the node's path from the root (access checks without a node read)
    name: str
    type: str  # individual | marketplace
    status: str  # draft | submitted | active | disabled | deleted
    app_fee: Decimal  # percent of each price that goes to the app (marketplaces)
    owner: AppOwner
    theme: Theme | None = None
    kyc_return_url: str | None = None
    use_explorer: bool = False
    featured: bool = False
    created_at: str = ""
    updated_at: str = ""


class AppKey(NamedTuple):
    """An app's API key: only its SHA-256 is kept (security.app_keys); the key itself is shown once."""

    id: str  # key_<16 hex>, also the key's own prefix (security.app_keys.parse)
    app_id: str
    secret_hash: str
    name: str | None = None
    status: str = "active"  # active | revoked
    created_at: str = ""
    revoked_at: str | None = None
    updated_at: str = ""  # the revoke is conditional on it (CatalogStore.replace)


class Price(NamedTuple):
    id: str  # price_<32 hex>
    app_id: str
    type: str  # static (reusable) | dynamic (single use: one payment, then expired)
    name: str
    amount: Decimal
    currency: str  # lowercase ISO 4217
    currency_conversion: str | None = None  # the seller's currency, when it differs
    trigger_id: str | None = None
    trigger_data: Mapping[str, Any] | None = None  # {"params_data": {name: value}}
    kyc_id: str | None = None
    metadata: Mapping[str, Any] | None = None
    network_type: str = "testnet"  # mainnet | testnet
    category: str = "payment"  # payment | bid | auction
    contract: str | None = None
    chain: str | None = None
    views: int = 0
    expired: bool = False
    deleted: bool = False
    created_at: str = ""
    updated_at: str = ""


class Trigger(NamedTuple):
    id: str  # tri_<32 hex>
    app_id: str
    wallet_id: str  # the app's managed signing wallet
    name: str
    call_data: Mapping[str, Any]  # per chain: evm | near | wax | solana
    params_data: Mapping[str, Any] | None = None  # {name: {"name", "type", "optional", "nullable"}}
    deleted: bool = False
    created_at: str = ""
    updated_at: str = ""


type CatalogEntry = Node | Chain | Network | Currency | Wallet | Member | Integration | App | AppKey | Price | Trigger

# The catalog kind of each entity (the `<kind>#<id>` key and the `by_kind` index).
KINDS: dict[type[Any], str] = {  # keyed by the entity classes of CatalogEntry
    Node: "node",
    Chain: "chain",
    Network: "network",
    Currency: "currency",
    Wallet: "wallet",
    Member: "member",
    Integration: "integration",
    App: "app",
    AppKey: "app_key",
    Price: "price",
    Trigger: "trigger",
}
APP_SCOPED: frozenset[type[Any]] = frozenset({AppKey, Price, Trigger})  # listed per app (the `by_app` index)
ENTITIES: dict[str, type[Any]] = {kind: entity for entity, kind in KINDS.items()}  # kind -> entity class


# ---------------------------------------------------------------------------------------------- payments
class PaymentEvent(NamedTuple):
    """What a change writes onto its payment (`last_event`): the stream's log writer makes the entry of it."""

    type: str
    message: str
    actor_type: str  # integration | system | chain | payer
    actor_id: str | None
    status_before: PaymentStatus | None = None
    correlation_id: str | None = None  # the request (or message) that caused the change


class Confirmations(NamedTuple):
    """NoRamp's `confirmation_status` of a web3 deposit, as the chain watcher keeps it."""

    required_confirmations: int
    confirmations: int  # capped at required_confirmations
    average_seconds: int  # estimated seconds until confirmed
    progress: int  # percent, 0-100
    confirmed: bool


class FailureReason(NamedTuple):
    """Why a payment's chain work ended without success: `code` is a chain_work.ChainFailure value (machine
    readable), `message` says it for a person (redacted: never a key, an RPC URL or a payer's data)."""

    code: str
    message: str


class PaymentLine(NamedTuple):
    """One of a payment's `items`."""

    name: str
    price: Decimal
    external_id: str


class Payment(NamedTuple):
    """A payment as stored: what the integrator created, plus what the lifecycle, the chain workers and the
    watcher wrote since. Timestamps are ISO 8601 strings in UTC with a `Z` (they sort as they compare); a
    status move writes a copy (`PaymentChanges`, `PaymentStore.update`) with `version` one higher."""

    id: str
    external_id: str
    node_id: str
    node_path: tuple[str, ...]  # the node's path from the root (access checks without a catalog read)
    network_id: str
    currency_id: str
    price: Decimal
    paid_price: Decimal
    payment_method: PaymentMethod
    payment_group: PaymentGroup
    payment_address: str
    expires_at: str
    status: PaymentStatus
    access_token: str  # the widget's bearer token (domain.payments.new_access_token)
    currency_symbol: str
    currency_decimals: int
    created_at: str
    updated_at: str
    version: int
    last_event: PaymentEvent | None = None
    chain_id: str | None = None
    wallet_id: str | None = None
    member_id: str | None = None
    member: Mapping[str, str] | None = None  # inline member data, as the request gave it
    items: tuple[PaymentLine, ...] | None = None
    metadata: str | None = None
    client_ip: str | None = None
    retry: bool = False
    retry_count: int = 0
    retried_at: str | None = None
    # web3: the deal
    token_address: str | None = None
    amount_units: int | None = None  # paid_price in the token's smallest unit (money.to_minor_units)
    deal_ref: str | None = None  # bytes32 hex: the payment id (domain.payments.deal_ref)
    signer_wallet_id: str | None = None  # the wallet whose key signs (and whose lane orders) its deal's transactions
    deal_id: int | None = None
    deal_transaction_hash: str | None = None  # the createDeal transaction
    deal_block_number: int | None = None  # the block the createDeal was mined in (as last seen)
    deal_block_hash: str | None = None
    # The watcher checked the contract's deal for `deal_id` against the payment at the network's required
    # confirmations (False: recorded, not yet checked; None: recorded before deals were verified).
    deal_verified: bool | None = None
    deal_may_exist: bool = False  # a worker claimed it once: a deal may exist even back in pending
    create_sent_at: str | None = None  # the watcher's last resend of the create-deal message
    expire_on_cancel: bool = False  # the cancel ends in expired (the watcher's expiry), not cancelled
    cancel_sent_at: str | None = None
    cancel_transaction_hash: str | None = None
    send_failed_reason: FailureReason | None = None  # why createDeal cannot (or did not) succeed; cleared by retry-send
    cancel_failed_reason: FailureReason | None = None  # why cancelDeal cannot succeed (it stays `cancelling`)
    # web3: the deposit (the chain watcher; cleared by a reorg that drops it)
    transaction_hash: str | None = None  # the payer's deposit
    payer: str | None = None
    deposit_amount: str | None = None  # token units as a decimal string: they may exceed DynamoDB's 38 digits
    deposit_block_number: int | None = None
    deposit_block_hash: str | None = None
    deposit_log_index: int | None = None
    paid_at: str | None = None
    confirmation_status: Confirmations | None = None
    confirmed_at: str | None = None
    # NoRamp's app API: a checkout of a price (None on integrator payments). Its node is the app's; its
    # `external_id` is its own id (the (node_id, external_id) guard then guards nothing but the id).
    app_id: str | None = None
    price_id: str | None = None
    payment_provider: ProviderMethod | None = None
    trigger_data_input: Mapping[str, Any] | None = None  # {"params_data_input": the price's and the payer's values}
    price_item: PriceItem | None = None  # the fee breakdown and conversion, frozen at checkout (payments_core.fees)
    transaction_id: str | None = None  # the provider's payment (a Stripe PaymentIntent id), once it exists
    transaction_url: str | None = None
    transaction_response: Mapping[str, Any] | None = None  # the trigger's outcome: {error, evm, near, wax, solana}
    # Cards and bank debits (domain.cards): what the provider's PaymentIntent (`transaction_id`) last said.
    provider_state: str | None = None  # the intent's status (provider.IntentState) when last read
    decline_code: str | None = None  # the provider's decline code of the failed attempt (`failed`)
    provider_synced_at: str | None = None  # when the intent was last read and the payment moved by it
    captured_amount: Decimal | None = None  # what was captured, in the charge's currency
    refunded_amount: Decimal | None = None  # refunded so far, in the charge's currency
    refund_count: int = 0  # refunds made (the n-th refund's idempotency key)


class PaymentChanges(TypedDict, total=False):
    """The fields a change of a payment may write (None removes one); mypy checks every literal of it."""

    status: PaymentStatus
    updated_at: str
    last_event: PaymentEvent
    retry: bool
    retry_count: int
    retried_at: str
    deal_id: int | None
    deal_transaction_hash: str | None
    deal_block_number: int | None
    deal_block_hash: str | None
    deal_verified: bool | None
    deal_may_exist: bool
    create_sent_at: str
    expire_on_cancel: bool
    cancel_sent_at: str
    cancel_transaction_hash: str | None
    send_failed_reason: FailureReason | None
    cancel_failed_reason: FailureReason | None
    transaction_hash: str | None
    payer: str | None
    deposit_amount: str | None
    deposit_block_number: int | None
    deposit_block_hash: str | None
    deposit_log_index: int | None
    paid_at: str | None
    confirmation_status: Confirmations | None
    confirmed_at: str | None
    transaction_id: str | None
    transaction_url: str | None
    transaction_response: Mapping[str, Any] | None
    provider_state: str | None
    decline_code: str | None
    provider_synced_at: str | None
    captured_amount: Decimal | None
    refunded_amount: Decimal | None
    refund_count: int
    version: int


class LogEntry(NamedTuple):
    """One entry of a payment's log (the log writer's, from the payments table's stream)."""

    payment_id: str
    sk: str  # `<created_at>#<id>`: the entries' order
    id: str  # the stream record's id: a redelivered record is the same entry
    event_type: str
    message: str
    actor_type: str
    actor_id: str | None
    status_before: PaymentStatus | None
    status_after: PaymentStatus
    created_at: str
    node_id: str | None = None
    correlation_id: str | None = None  # kept with the entry, not part of the API's answer
