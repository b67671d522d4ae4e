// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {PaymentsStorage} from "../libraries/PaymentsStorage.sol";

/// @title Test facet added to a live diamond with diamondCut: proves a later facet is routed through the loupe
///        and reads the storage that PaymentsFacet wrote (same namespaced slot).
contract UpgradeProbeFacet {
    function lastDealId() external view returns (uint256) {
        return PaymentsStorage.load().lastDealId;
    }

    function probeVersion() external pure returns (uint256) {
        return 2;
    }
}
