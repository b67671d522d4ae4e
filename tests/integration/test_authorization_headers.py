"""Whatever `Authorization` header a caller sends, both authorizers answer 401 (never 500): through the
in-process gateway (the template's ValidationExpression first, as API Gateway does) and invoked directly
(as if the expression were gone). The gateway answers 500 when an authorizer fails otherwise than with
`Unauthorized`, as API Gateway does, so a crash cannot hide behind a 401 here."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack import lambdas
from devstack.gateway import Gateway
from tests.integration.helpers import Api

LIST = "/api/v1/payments"
WIDGET = "/api/v1/widget/payments/{}"


def _headers(valid: str) -> list[str]:
    """Edge headers around a valid token `valid` (a JWT or a widget token)."""
    return [
        "",
        " ",
        "Bearer",
        "Bearer ",
        "Bearer  ",
        "bearer",
        f"Basic {valid}",
        f"Bearer Bearer {valid}",
        f"Bearer {valid}, Basic abc",
        f"Basic abc, Bearer {valid}",
        f"Bearer\t{valid}",
        f"\tBearer {valid}",
        f"Bearer {valid}\t",
        f"Bearer {valid}\n",
        f"Bearer {valid}\x00",
        f"Bearer {valid}é",
        f"Bearer {valid[:-1]}é",
        f"Bearer é{valid[1:]}",
        f"Bearer {valid}\u2028",
        f"Bearer {valid}\U0001f600",
        "Bearer \U0001f600.\U0001f600.\U0001f600",
        f"Bearer {valid} {valid}",
        f"Bearer {valid}" + "A" * 20_000,
        "Bearer " + "a" * 10_000 + "." + "b" * 10_000 + "." + "c" * 10_000,
        "Bearer a.b.c",
        "Bearer ...",
        "Bearer e30.e30.e30",  # {} . {} . {}
        "Bearer eyJhbGciOiJub25lIn0.e30.",  # alg none
        "Bearer W10.W10.W10",  # [] . [] . []
        "Bearer bnVsbA.bnVsbA.bnVsbA",  # null . null . null
        "Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6W119.e30.e30",  # kid: []
        "Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6IngifQ.e30.e30",  # an unknown kid
        "Bearer pwt_",
        "Bearer pwt___",
        "Bearer pwt_00000000000000000000000000000000_x",
        "Bearer pwt_{" + "0" * 32 + "}_x",
        f"Bearer {valid.swapcase()}",
        "Digest username=x",
        "\ud800",
        f"Bearer {valid}\udc80",
    ]


def _status(api: Api, method: str, path: str, header: str) -> tuple[int, Any]:
    r = api.gateway.request(method, path, headers={"Authorization": header})
    return r.status, r.json()


def test_the_integrator_authorizer_answers_401_to_any_header(api: Api) -> None:
    token = api.token()
    query = {"node_id": [api.demo["nodes"]["root"]]}
    assert api.gateway.request("GET", LIST, headers={"Authorization": f"Bearer {token}"}, query=query).status == 200
    for header in _headers(token):
        r = api.gateway.request("GET", LIST, headers={"Authorization": header}, query=query)
        assert r.status == 401, (header[:80], r.status, r.body[:200])
        assert r.json()["error"]["code"] == "unauthorized"


def test_the_widget_authorizer_answers_401_to_any_header(api: Api) -> None:
    created = api.call("POST", LIST, token=api.token(), json_body=api.payment_body())
    assert created.status == 201, created.body
    payment = created.json()
    path = WIDGET.format(payment["id"])
    assert api.gateway.request("GET", path, headers={"Authorization": f"Bearer {payment['access_token']}"}).status in (
        200,
        202,
    )
    for header in _headers(payment["access_token"]):
        status, body = _status(api, "GET", path, header)
        assert status == 401, (header[:80], status, body)
        assert body["error"]["code"] == "unauthorized"


def _direct(function: str, event: dict[str, Any]) -> str:
    """What an authorizer invoked directly does: its answer's principal, or the message it raised."""
    try:
        answer = lambdas.invoke(function, event)
    except Exception as exc:
        return str(exc)
    return str(answer["principalId"])


@pytest.mark.parametrize("extra", [None, 7, ["Bearer x"], {"a": 1}])
def test_both_authorizers_invoked_directly_refuse_any_header_with_unauthorized(api: Api, extra: Any) -> None:
    token = api.token()
    created = api.call("POST", LIST, token=token, json_body=api.payment_body()).json()
    arn = lambdas.method_arn("GET", LIST)
    widget_arn = lambdas.method_arn("GET", WIDGET.format(created["id"]))
    for header in [*_headers(token), *_headers(created["access_token"]), extra]:
        event = {"type": "TOKEN", "authorizationToken": header, "methodArn": arn}
        assert _direct("IntegratorAuthorizerFunction", event) == "Unauthorized", header
        widget_event = {
            "type": "REQUEST",
            "methodArn": widget_arn,
            "headers": {"Authorization": header},
            "pathParameters": {"id": created["id"]},
        }
        assert _direct("WidgetAuthorizerFunction", widget_event) == "Unauthorized", header
    # and the valid ones pass
    assert _direct("IntegratorAuthorizerFunction", {"authorizationToken": f"Bearer {token}", "methodArn": arn}) != (
        "Unauthorized"
    )


_ANY_HEADER = st.one_of(
    st.text(max_size=300),
    st.text(max_size=300).map(lambda t: "Bearer " + t),
    st.from_regex(r"[Bb]earer [ -~]{0,200}", fullmatch=True),
    st.from_regex(r"Bearer [-0-9A-Za-z_]{1,40}\.[-0-9A-Za-z_]{1,40}\.[-0-9A-Za-z_]{0,40}", fullmatch=True),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_text_header_is_answered_401(api: Api, data: st.DataObject) -> None:
    if "_widget" not in api.demo:  # one payment for all the examples (the fixture is per test, not per example)
        api.demo["_widget"] = api.call("POST", LIST, token=api.token(), json_body=api.payment_body()).json()
    payment = api.demo["_widget"]
    own = payment["access_token"].rsplit("_", 1)[0]  # pwt_<this payment's hex>: the check reaches the stored token
    header = data.draw(st.one_of(_ANY_HEADER, st.text(max_size=80).map(lambda t: f"Bearer {own}_{t}")))
    assert _status(api, "GET", LIST, header)[0] == 401
    if header != f"Bearer {payment['access_token']}":
        assert _status(api, "GET", WIDGET.format(payment["id"]), header)[0] == 401


@pytest.mark.parametrize("failure", ["raises", "no policy"])
def test_the_gateway_answers_500_when_an_authorizer_fails_otherwise(api: Api, failure: str) -> None:
    # As API Gateway does (AUTHORIZER_FAILURE / AUTHORIZER_CONFIGURATION_ERROR): a crash is not a 401 here,
    # so the tests above would see an authorizer's crash.
    def invoker(function: str, event: dict[str, Any]) -> Any:
        if function.endswith("AuthorizerFunction"):
            if failure == "raises":
                raise TypeError("compare_digest: unsupported characters")
            return "Allow"
        return lambdas.invoke(function, event)

    gateway = Gateway(invoker=invoker)
    token = api.token()
    r = gateway.request(
        "GET", LIST, headers={"Authorization": f"Bearer {token}"}, query={"node_id": [api.demo["nodes"]["root"]]}
    )
    assert r.status == 500, r.body
    assert r.json()["error"]["code"] == "internal_error"
