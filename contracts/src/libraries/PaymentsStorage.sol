// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IPayments} from "../interfaces/IPayments.sol";

/// @title Diamond storage of the payments facets
/// @notice One struct at its own slot (ERC-7201 namespaced layout), so facets never collide with each other or
///         with the diamond's own storage. Only append fields to Layout; never reorder or remove them.
library PaymentsStorage {
    /// @custom:storage-location erc7201:rudiq.payments.storage.v1
    struct Layout {
        uint256 lastDealId; // deal ids start at 1
        mapping(uint256 dealId => IPayments.Deal) deals;
        mapping(bytes32 ref => uint256 dealId) dealIdByRef;
        mapping(address wallet => bool allowed) platformWallets;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("rudiq.payments.storage.v1")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 internal constant STORAGE_SLOT = 0x01b4599ee70270256f366edd7052ea4fd735fc6a4f2a7e76c2f274b3df13c200;

    function load() internal pure returns (Layout storage l) {
        bytes32 slot = STORAGE_SLOT;
        assembly {
            l.slot := slot
        }
    }
}
