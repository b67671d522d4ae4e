"""The chain layer's Web3 tries again a call whose connection was reset (payments_chain.client.web3_for): through
the local stack's RPC fault proxy (devstack.rpc_faults) in front of a fake JSON-RPC node on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from web3.types import RPCEndpoint

from devstack.rpc_faults import RpcFaultProxy
from payments_chain import client
from tests.devstack.emulator.test_rpc_faults import FakeNode


@pytest.fixture
def proxy() -> Iterator[RpcFaultProxy]:
    node = FakeNode()
    proxy = RpcFaultProxy(node.url, fail_rate=0.5, seed=3)  # seeded: the same calls fail each run
    yield proxy
    proxy.stop()
    node.stop()
    client.web3_for.cache_clear()


def test_reads_and_raw_transactions_whose_connection_was_reset_are_tried_again(proxy: RpcFaultProxy) -> None:
    w3 = client.web3_for(proxy.url)
    reads = [w3.provider.make_request(RPCEndpoint("eth_chainId"), [])["result"] for _ in range(10)]
    sent = [w3.eth.send_raw_transaction(b"\x02signed") for _ in range(5)]
    assert reads == ["ok"] * 10
    assert len(sent) == 5
    assert proxy.failed > 0  # calls were reset, and each was answered on a later try
    assert proxy.calls == 15 + proxy.failed


def test_a_node_that_stays_unreachable_fails_after_the_retries(proxy: RpcFaultProxy) -> None:
    proxy.refusing = True
    with pytest.raises(requests.ConnectionError):
        client.web3_for(proxy.url).provider.make_request(RPCEndpoint("eth_chainId"), [])
    assert proxy.refused == client.RPC_RETRIES
