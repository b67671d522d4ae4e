// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

import {IPayments} from "../interfaces/IPayments.sol";

/// @title Test token that, once armed, calls back into the diamond's createDeals from inside a transfer (the deposit's
///        transferFrom): the reentrancy guard must refuse it.
contract ReentrantToken is ERC20 {
    bytes32 public reentryRef;

    constructor() ERC20("Reentrant (test)", "REE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @dev The next transfer between two accounts calls `createDeals` with one deal of `ref` on the caller.
    function arm(bytes32 ref) external {
        reentryRef = ref;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        bytes32 ref = reentryRef;
        if (ref == bytes32(0) || from == address(0) || to == address(0)) return;
        reentryRef = bytes32(0);
        IPayments.DealTerms[] memory deals = new IPayments.DealTerms[](1);
        deals[0] = IPayments.DealTerms({
            ref: ref,
            payee: from,
            token: address(this),
            amount: value,
            expiresAt: uint64(block.timestamp + 3600)
        });
        IPayments(msg.sender).createDeals(deals);
    }
}
