"""The emulator's fixes: a refused transaction leaves the stream readable and writes nothing to it."""

from __future__ import annotations

from typing import Any

from devstack.provision import Stack
from payments_core import deps
from tests.integration.conftest import Api, drain


def test_stream_keeps_flowing_after_a_refused_transaction(api: Api, stack: Stack, stream_pollers: list[Any]) -> None:
    token = api.token()
    first = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(external_id="a"))
    assert drain(stream_pollers) == 1  # the poller holds its shard iterator from here on
    assert api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(external_id="a")).status == 409
    second = api.call("POST", "/api/v1/payments", token=token, json_body=api.payment_body(external_id="b"))
    assert drain(stream_pollers) == 1  # the refused transaction wrote nothing; the next create is seen
    assert deps.logs().count(second.json()["id"]) == 1
    assert deps.logs().count(first.json()["id"]) == 1
