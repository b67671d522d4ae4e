"""Record the AWS API calls a piece of code makes (operation and parameters), through botocore's
own event hooks, so that the raw side of a comparison issues exactly the same requests."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    response: dict[str, Any] = field(default_factory=dict)


@contextmanager
def recording(*clients: Any) -> Iterator[list[Call]]:
    calls: list[Call] = []

    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        calls.append(Call(service, model.name, copy.deepcopy(params)))

    def after(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        for call in reversed(calls):
            if call.operation == model.name and not call.response:
                call.response = parsed
                break

    for client in clients:
        client.meta.events.register("provide-client-params.*.*", before, unique_id="bench-capture-before")
        client.meta.events.register("after-call.*.*", after, unique_id="bench-capture-after")
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("provide-client-params.*.*", unique_id="bench-capture-before")
            client.meta.events.unregister("after-call.*.*", unique_id="bench-capture-after")


def method_of(client: Any, operation: str) -> Any:
    """The client method of an API operation name (TransactWriteItems -> transact_write_items)."""
    names = {api: method for method, api in client.meta.method_to_api_mapping.items()}
    return getattr(client, names[operation])
