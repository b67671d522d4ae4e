"""The sample events of the price and trigger functions (events/): each, run as it is against the stack with the
sample's app in the catalog (its authorizer context is that app's key), gives the real outcome."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from devstack import lambdas
from payments_core import deps
from payments_core.domain.entities import App, AppOwner
from tests.integration.test_events import body_of, load_event

SAMPLE_APP = "app_0123456789abcdef0123456789abcdef"


def with_path(event: dict[str, Any], **ids: str) -> dict[str, Any]:
    out = copy.deepcopy(event)
    for name, value in ids.items():
        old = out["pathParameters"][name]
        out["pathParameters"][name] = value
        out["path"] = out["path"].replace(old, value)
        out["requestContext"]["path"] = out["requestContext"]["path"].replace(old, value)
    return out


def test_price_and_trigger_events(demo: dict[str, Any]) -> None:
    root = demo["nodes"]["root"]
    deps.catalog().put_new(
        App(SAMPLE_APP, root, (root,), "Sample", "individual", "active", Decimal(0), AppOwner("u", "owner"))
    )
    # The samples' own price and trigger ids are unknown to the stack.
    for function, code in (("GetPriceFunction", "price_not_found"), ("GetTriggerFunction", "trigger_not_found")):
        missing = lambdas.invoke(function, load_event(function))
        assert missing["statusCode"] == 404, missing["body"]
        assert body_of(missing)["error"]["code"] == code

    trigger = lambdas.invoke("CreateTriggerFunction", load_event("CreateTriggerFunction"))
    assert trigger["statusCode"] == 201, trigger["body"]
    trigger_id = body_of(trigger)["id"]
    price = lambdas.invoke("CreatePriceFunction", load_event("CreatePriceFunction"))
    assert price["statusCode"] == 201, price["body"]
    price_id = body_of(price)["id"]
    assert body_of(price)["amount"] == Decimal(50)

    got = lambdas.invoke("GetPriceFunction", with_path(load_event("GetPriceFunction"), price_id=price_id))
    assert body_of(got) == body_of(price)
    listed = lambdas.invoke("ListPricesFunction", load_event("ListPricesFunction"))
    assert [p["id"] for p in body_of(listed)["items"]] == [price_id]
    listed_triggers = lambdas.invoke("ListTriggersFunction", load_event("ListTriggersFunction"))
    assert body_of(listed_triggers)["total"] == 1
    patched = lambdas.invoke(
        "UpdateTriggerFunction", with_path(load_event("UpdateTriggerFunction"), trigger_id=trigger_id)
    )
    assert patched["statusCode"] == 200, patched["body"]
    assert body_of(patched)["name"] == "Mint the ticket (v2)"
    got_trigger = lambdas.invoke(
        "GetTriggerFunction", with_path(load_event("GetTriggerFunction"), trigger_id=trigger_id)
    )
    assert body_of(got_trigger) == body_of(patched)
    deleted = lambdas.invoke("DeletePriceFunction", with_path(load_event("DeletePriceFunction"), price_id=price_id))
    assert deleted["statusCode"] == 200, deleted["body"]
    gone = lambdas.invoke(
        "DeleteTriggerFunction", with_path(load_event("DeleteTriggerFunction"), trigger_id=trigger_id)
    )
    assert gone["statusCode"] == 200, gone["body"]
    assert body_of(gone) == {"id": trigger_id, "deleted": True}
