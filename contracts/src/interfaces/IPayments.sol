// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Escrow deals: types, events and errors of the PaymentsFacet
/// @notice Integrators and the indexer use the PaymentsFacet ABI at the diamond's address.
interface IPayments {
    /// @dev `None` is the zero value of a deal that does not exist.
    enum DealStatus {
        None,
        Open,
        Paid,
        Cancelled,
        Refunded
    }

    /// @dev Field order is the ABI order of `getDeal`. Storage: 6 slots (expiresAt, payer, status share one).
    struct Deal {
        bytes32 ref; // off-chain reference (e.g. the payment id), unique per diamond
        address creator; // the platform wallet that created the deal; the only one that may cancel it
        address payee; // who will be paid out (payout/release is not implemented yet)
        address token; // the ERC-20 the payer deposits
        uint256 amount; // exact amount, in the token's smallest unit
        uint64 expiresAt; // unix seconds; deposits need block.timestamp < expiresAt
        address payer; // set by deposit
        DealStatus status;
    }

    /// @dev One deal of a `createDeals` batch: the arguments of `createDeal`, in its order.
    struct DealTerms {
        bytes32 ref;
        address payee;
        address token;
        uint256 amount;
        uint64 expiresAt;
    }

    /// @dev Why `createDeals` skipped a ref (the `DealSkipped` event), one per refusal of `createDeal`, checked in
    ///      createDeal's order (the first that applies is reported). `None` (0) is never emitted.
    enum SkipReason {
        None,
        InvalidRef, // createDeal: InvalidRef() (the zero ref)
        RefAlreadyUsed, // createDeal: RefAlreadyUsed(ref, dealId); the event's dealId is the existing deal
        ZeroPayee, // createDeal: ZeroAddress() (payee)
        InvalidToken, // createDeal: InvalidToken(token) (no code)
        InvalidAmount, // createDeal: InvalidAmount() (zero)
        InvalidExpiry // createDeal: InvalidExpiry(expiresAt, now) (not after block.timestamp)
    }

    event PlatformWalletSet(address indexed wallet, bool allowed);
    event DealCreated(
        uint256 indexed dealId,
        bytes32 indexed ref,
        address indexed creator,
        address payee,
        address token,
        uint256 amount,
        uint64 expiresAt
    );
    event Deposited(uint256 indexed dealId, address indexed payer, uint256 amount);
    event DealCancelled(uint256 indexed dealId, bool refunded);
    /// @dev A ref of a `createDeals` batch that created no deal. `dealId` is the ref's existing deal for
    ///      `RefAlreadyUsed` (also when an earlier entry of the same batch used it), 0 for every other reason.
    event DealSkipped(bytes32 indexed ref, SkipReason reason, uint256 dealId);

    /// @dev The caller is not an authorised platform wallet.
    error NotPlatformWallet(address caller);
    /// @dev A zero address where a wallet, payee or payer is required.
    error ZeroAddress();
    /// @dev The zero ref is reserved (dealIdOf answers 0 for "no deal").
    error InvalidRef();
    /// @dev The token address has no code.
    error InvalidToken(address token);
    /// @dev A deal must be for a positive amount.
    error InvalidAmount();
    /// @dev expiresAt must be in the future when the deal is created.
    error InvalidExpiry(uint64 expiresAt, uint256 nowTimestamp);
    /// @dev Every ref creates one deal only.
    error RefAlreadyUsed(bytes32 ref, uint256 dealId);
    error DealNotFound(uint256 dealId);
    /// @dev A deposit needs an Open deal (not Paid, Cancelled or Refunded).
    error DealNotOpen(uint256 dealId, DealStatus status);
    /// @dev A deposit at or after expiresAt.
    error DealExpired(uint256 dealId, uint64 expiresAt);
    /// @dev Only the deal's creator may cancel it.
    error NotDealCreator(uint256 dealId, address caller);
    /// @dev Cancelled and Refunded deals are final.
    error DealAlreadyClosed(uint256 dealId, DealStatus status);
    /// @dev The diamond's balance did not grow by exactly the amount (fee-on-transfer or rebasing token).
    error InexactTransfer(uint256 dealId, uint256 expected, uint256 received);

    function setPlatformWallet(address wallet, bool allowed) external;

    function isPlatformWallet(address wallet) external view returns (bool);

    function createDeal(
        bytes32 ref,
        address payee,
        address token,
        uint256 amount,
        uint64 expiresAt
    ) external returns (uint256 dealId);

    /// @notice Several deals in one transaction, all or nothing per ref: every entry `createDeal` would accept
    ///         becomes a deal (`DealCreated`, ids in entry order); every entry it would refuse is skipped with
    ///         `DealSkipped(ref, reason, dealId)` and does not revert the others.
    /// @dev Only platform wallets (else the whole call reverts with `NotPlatformWallet`). `dealIds[i]` is the deal
    ///      entry i created, 0 when it was skipped, also for `RefAlreadyUsed`: a non-zero slot always means "created
    ///      by this call" (the existing id is in the event, and `dealIdOf(ref)` answers it).
    function createDeals(DealTerms[] calldata deals) external returns (uint256[] memory dealIds);

    function deposit(uint256 dealId) external;

    function cancelDeal(uint256 dealId) external;

    function dealIdOf(bytes32 ref) external view returns (uint256);

    function getDeal(uint256 dealId) external view returns (Deal memory);
}
