// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Mock USDT for tests and the local chain: 6 decimals, anyone may mint. Never deploy to a public network.
contract MockUSDT is ERC20 {
    constructor() ERC20("Tether USD (mock)", "USDT") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
