// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {OwnableInternal} from "@solidstate/contracts/access/ownable/OwnableInternal.sol";

import {IPayments} from "../interfaces/IPayments.sol";
import {PaymentsStorage} from "../libraries/PaymentsStorage.sol";

/// @title Escrow deals facet
/// @notice A platform wallet creates a deal (payee, token, amount, expiry, off-chain ref); the payer approves the
///         token and calls `deposit(dealId)`, which pulls exactly `amount` into the diamond, once, before expiry.
///         The creator may cancel: an Open deal becomes Cancelled (void), a Paid deal is Refunded to its payer.
/// @dev Runs by delegatecall from the diamond: all state lives in PaymentsStorage (own slot); ownership is the
///      diamond's (solidstate OwnableStorage); the reentrancy guard uses a transient-storage slot (EIP-1153, so
///      the build targets cancun or later). No constructor, no immutable state.
///      `createDeals` is `createDeal` for several refs in one transaction (same checks; a refused entry is skipped
///      with `DealSkipped`, never reverting the batch).
///      Payout/release of escrowed funds to the payee is NOT implemented yet: it will be a separate function
///      (Paid -> Released) added with diamondCut, reusing this storage layout.
contract PaymentsFacet is IPayments, OwnableInternal, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    modifier onlyPlatformWallet() {
        if (!PaymentsStorage.load().platformWallets[msg.sender]) revert NotPlatformWallet(msg.sender);
        _;
    }

    /// @inheritdoc IPayments
    function setPlatformWallet(address wallet, bool allowed) external onlyOwner {
        if (wallet == address(0)) revert ZeroAddress();
        PaymentsStorage.load().platformWallets[wallet] = allowed;
        emit PlatformWalletSet(wallet, allowed);
    }

    /// @inheritdoc IPayments
    function isPlatformWallet(address wallet) external view returns (bool) {
        return PaymentsStorage.load().platformWallets[wallet];
    }

    /// @inheritdoc IPayments
    function createDeal(
        bytes32 ref,
        address payee,
        address token,
        uint256 amount,
        uint64 expiresAt
    ) external onlyPlatformWallet returns (uint256 dealId) {
        PaymentsStorage.Layout storage s = PaymentsStorage.load();
        (SkipReason reason, uint256 existing) = _check(s, ref, payee, token, amount, expiresAt);
        if (reason != SkipReason.None) _refuse(reason, ref, existing, token, expiresAt);
        dealId = ++s.lastDealId;
        _store(s, dealId, ref, payee, token, amount, expiresAt);
    }

    /// @inheritdoc IPayments
    /// @dev The same checks as createDeal (one `_check`), so an entry is skipped exactly when createDeal would
    ///      revert for it. `lastDealId` is written once for the batch; each ref is stored before the next entry is
    ///      checked, so a ref twice in one batch creates one deal and skips the second as `RefAlreadyUsed`. Nothing
    ///      here calls out (the token is only checked for code), and the guard keeps it so.
    function createDeals(
        DealTerms[] calldata deals
    ) external onlyPlatformWallet nonReentrant returns (uint256[] memory dealIds) {
        PaymentsStorage.Layout storage s = PaymentsStorage.load();
        uint256 count = deals.length;
        dealIds = new uint256[](count);
        uint256 lastId = s.lastDealId;
        for (uint256 i; i < count; ++i) {
            DealTerms calldata terms = deals[i];
            (SkipReason reason, uint256 existing) = _check(
                s,
                terms.ref,
                terms.payee,
                terms.token,
                terms.amount,
                terms.expiresAt
            );
            if (reason != SkipReason.None) {
                emit DealSkipped(terms.ref, reason, existing);
                continue;
            }
            dealIds[i] = ++lastId;
            _store(s, lastId, terms.ref, terms.payee, terms.token, terms.amount, terms.expiresAt);
        }
        s.lastDealId = lastId;
    }

    /// @inheritdoc IPayments
    function deposit(uint256 dealId) external nonReentrant {
        Deal storage deal = _deal(dealId);
        // checks
        if (deal.status != DealStatus.Open) revert DealNotOpen(dealId, deal.status);
        if (block.timestamp >= deal.expiresAt) revert DealExpired(dealId, deal.expiresAt);
        // effects (undone by the revert below if the transfer is not exact)
        deal.status = DealStatus.Paid;
        deal.payer = msg.sender;
        uint256 amount = deal.amount;
        IERC20 token = IERC20(deal.token);
        // interactions
        uint256 balanceBefore = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - balanceBefore;
        if (received != amount) revert InexactTransfer(dealId, amount, received);
        emit Deposited(dealId, msg.sender, amount);
    }

    /// @inheritdoc IPayments
    /// @dev Only the creator's identity is checked, not its current authorisation: a revoked wallet can still void
    ///      its unpaid deals or send paid ones back to their payers, so revoking a wallet never traps escrow.
    function cancelDeal(uint256 dealId) external nonReentrant {
        Deal storage deal = _deal(dealId);
        if (msg.sender != deal.creator) revert NotDealCreator(dealId, msg.sender);
        DealStatus status = deal.status;
        if (status == DealStatus.Open) {
            deal.status = DealStatus.Cancelled;
            emit DealCancelled(dealId, false);
        } else if (status == DealStatus.Paid) {
            deal.status = DealStatus.Refunded;
            emit DealCancelled(dealId, true);
            IERC20(deal.token).safeTransfer(deal.payer, deal.amount);
        } else {
            revert DealAlreadyClosed(dealId, status);
        }
    }

    /// @inheritdoc IPayments
    function dealIdOf(bytes32 ref) external view returns (uint256) {
        return PaymentsStorage.load().dealIdByRef[ref];
    }

    /// @inheritdoc IPayments
    function getDeal(uint256 dealId) external view returns (Deal memory) {
        return _deal(dealId);
    }

    /// @dev The first refusal of createDeal that applies (None when the deal may be created) and, for
    ///      RefAlreadyUsed, the ref's existing deal id.
    function _check(
        PaymentsStorage.Layout storage s,
        bytes32 ref,
        address payee,
        address token,
        uint256 amount,
        uint64 expiresAt
    ) private view returns (SkipReason reason, uint256 existing) {
        if (ref == bytes32(0)) return (SkipReason.InvalidRef, 0);
        existing = s.dealIdByRef[ref];
        if (existing != 0) return (SkipReason.RefAlreadyUsed, existing);
        if (payee == address(0)) return (SkipReason.ZeroPayee, 0);
        if (token.code.length == 0) return (SkipReason.InvalidToken, 0);
        if (amount == 0) return (SkipReason.InvalidAmount, 0);
        if (expiresAt <= block.timestamp) return (SkipReason.InvalidExpiry, 0);
        return (SkipReason.None, 0);
    }

    /// @dev createDeal's custom error for a refusal of `_check`.
    function _refuse(SkipReason reason, bytes32 ref, uint256 existing, address token, uint64 expiresAt) private view {
        if (reason == SkipReason.InvalidRef) revert InvalidRef();
        if (reason == SkipReason.RefAlreadyUsed) revert RefAlreadyUsed(ref, existing);
        if (reason == SkipReason.ZeroPayee) revert ZeroAddress();
        if (reason == SkipReason.InvalidToken) revert InvalidToken(token);
        if (reason == SkipReason.InvalidAmount) revert InvalidAmount();
        revert InvalidExpiry(expiresAt, block.timestamp);
    }

    function _store(
        PaymentsStorage.Layout storage s,
        uint256 dealId,
        bytes32 ref,
        address payee,
        address token,
        uint256 amount,
        uint64 expiresAt
    ) private {
        s.dealIdByRef[ref] = dealId;
        s.deals[dealId] = Deal({
            ref: ref,
            creator: msg.sender,
            payee: payee,
            token: token,
            amount: amount,
            expiresAt: expiresAt,
            payer: address(0),
            status: DealStatus.Open
        });
        emit DealCreated(dealId, ref, msg.sender, payee, token, amount, expiresAt);
    }

    function _deal(uint256 dealId) private view returns (Deal storage deal) {
        deal = PaymentsStorage.load().deals[dealId];
        if (deal.status == DealStatus.None) revert DealNotFound(dealId);
    }
}
