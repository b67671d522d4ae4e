"""The chain layer: the only package that talks to an EVM node (web3). Attached to chain functions only."""
