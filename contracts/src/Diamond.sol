// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {SolidStateDiamond} from "@solidstate/contracts/proxy/diamond/SolidStateDiamond.sol";

/// @title RudiqPay escrow diamond (EIP-2535)
/// @notice The proxy every client talks to. Its constructor registers, as immutable selectors of the diamond
///         itself, `diamondCut`, the loupe (`facets`, `facetFunctionSelectors`, `facetAddresses`, `facetAddress`),
///         `supportsInterface` (ERC-165), ownership (ERC-173 `owner`/`transferOwnership` with the two-step
///         `nomineeOwner`/`acceptOwnership`) and `getFallbackAddress`/`setFallbackAddress`; the deployer becomes the
///         owner. Business logic (PaymentsFacet) is added afterwards with `diamondCut` and called through this
///         address with the facet's ABI.
contract Diamond is SolidStateDiamond {}
