"""`make bench`'s backend comes up and its functions run in this process with their own environment (the
bench itself runs only in `make bench`: this catches a set-up it can no longer do, such as a setting the
seed needs that one function's environment lacks)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from bench import events
from bench.stack import BenchStack, start
from devstack import lambdas

pytestmark = [pytest.mark.xdist_group("bench")]


@pytest.fixture(scope="module")
def bench() -> Iterator[BenchStack]:
    saved = dict(os.environ)
    stack = start()
    try:
        yield stack
    finally:
        stack.stop()
        os.environ.clear()  # the bench points this process at its moto server: the next tests must not
        os.environ.update(saved)


def test_the_bench_stack_is_seeded_and_its_functions_answer(bench: BenchStack) -> None:
    assert set(bench.demo["nodes"]) == {"root", "child", "other"}
    bench.use_in_process("IssueTokenFunction")
    token = lambdas.invoke("IssueTokenFunction", events.issue_token(bench.demo))
    assert token["statusCode"] == 200, token["body"]
    assert json.loads(token["body"])["access_token"]
    bench.use_in_process("CreatePaymentFunction")
    created = lambdas.invoke("CreatePaymentFunction", events.create_payment(bench.demo, "bench-stack-test"))
    assert created["statusCode"] == 201, created["body"]
    assert json.loads(created["body"])["status"] == "pending"
