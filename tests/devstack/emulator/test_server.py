"""The local stack's moto server: where this machine reaches it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from devstack.server import MotoServer


@pytest.mark.parametrize(
    ("bound", "url"),
    [
        (("127.0.0.1", 5123), "http://127.0.0.1:5123"),
        (("0.0.0.0", 5123), "http://127.0.0.1:5123"),  # --moto-host 0.0.0.0 (for sam local's containers)
    ],
)
def test_url_is_where_this_machine_reaches_moto(bound: tuple[str, int], url: str) -> None:
    server = MotoServer(port=bound[1], host=bound[0])
    server._server = SimpleNamespace(server_address=bound)  # type: ignore[assignment]  # as if started
    assert server.url == url
