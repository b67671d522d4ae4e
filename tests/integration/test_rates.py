"""Exchange rates and fee settings in the catalog table built from template.yaml: the stores' conditional writes,
the scheduled ECB fetch (FetchExchangeRatesFunction, fed the recorded document by a server on 127.0.0.1), and
`paymentsctl rate` / `paymentsctl fees`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devstack import lambdas
from devstack import template as tpl
from devstack.provision import Stack
from payments_core import cli, deps
from payments_core.domain import rates
from payments_core.domain.entities import Node
from payments_core.domain.rates import ExchangeRate
from payments_core.fees import FeeSettings

ECB_FILE = Path(__file__).parents[1] / "data" / "eurofxref-daily-2025-10-21.xml"
EVENT = json.loads((tpl.ROOT / "events" / "FetchExchangeRatesFunction.json").read_text())
D = Decimal


class Feed:
    """The ECB's URL, on 127.0.0.1: answers `body` with `status`, counts the GETs."""

    def __init__(self) -> None:
        self.body, self.status, self.gets = ECB_FILE.read_bytes(), 200, 0
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed.gets += 1
                self.send_response(feed.status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(feed.body)))
                self.end_headers()
                self.wfile.write(feed.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stats/eurofxref/eurofxref-daily.xml"


@pytest.fixture
def feed(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Feed]:
    served = Feed()
    thread = threading.Thread(target=served.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("EXCHANGE_RATES_URL", served.url)
    # The document is of 2025-10-21: allow its age, as the deployed default allows a long weekend's.
    monkeypatch.setenv("EXCHANGE_RATE_MAX_AGE_SECONDS", str(int(timedelta(days=3650).total_seconds())))
    deps.rate_feed.cache_clear()
    yield served
    served.server.shutdown()
    served.server.server_close()
    deps.rate_feed.cache_clear()


def test_the_local_stack_has_no_feed(stack: Stack) -> None:
    assert stack.environment("FetchExchangeRatesFunction")["EXCHANGE_RATES_URL"] == ""
    assert tpl.parameter_defaults()["ExchangeRatesUrl"].startswith("https://www.ecb.europa.eu/")
    report = lambdas.invoke("FetchExchangeRatesFunction", EVENT)
    assert (report["configured"], report["rates"], report["written"]) == (False, 0, 0)
    assert deps.rate_store().list_rates() == []


def test_the_fetch_stores_the_ecbs_rates_once(feed: Feed) -> None:
    report = lambdas.invoke("FetchExchangeRatesFunction", EVENT)
    assert report["configured"] is True
    assert (report["as_of"], report["rates"], report["written"]) == ("2025-10-21T00:00:00Z", 29, 29)
    assert list(report["skipped"]) == ["bgn"]
    stored = {r.target: r for r in deps.rate_store().list_rates()}
    assert len(stored) == 29
    assert stored["usd"] == ExchangeRate("eur", "usd", D("1.1607"), "2025-10-21T00:00:00Z", "ecb")
    again = lambdas.invoke("FetchExchangeRatesFunction", EVENT)
    assert (again["rates"], again["written"]) == (29, 0)
    assert feed.gets == 2
    at = datetime(2025, 10, 21, 18, tzinfo=UTC)
    cross = rates.rate_for(deps.rate_store(), "usd", "jpy", now=at, max_age=timedelta(days=6))
    assert (cross.rate, cross.source) == (D("152.020332558"), "ecb")


def test_a_failing_feed_fails_the_run_and_writes_nothing(feed: Feed) -> None:
    feed.status = 503
    with pytest.raises(OSError, match="503"):
        lambdas.invoke("FetchExchangeRatesFunction", EVENT)
    feed.status, feed.body = 200, ECB_FILE.read_bytes().replace(b"rate='20.1148'", b"rate='soon'")
    with pytest.raises(rates.RateFeedInvalid):
        lambdas.invoke("FetchExchangeRatesFunction", EVENT)
    assert deps.rate_store().list_rates() == []


def test_a_stale_document_is_stored_and_fails_the_run(feed: Feed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXCHANGE_RATE_MAX_AGE_SECONDS", str(6 * 86400))
    with pytest.raises(rates.RateFeedStale, match="2025-10-21"):
        lambdas.invoke("FetchExchangeRatesFunction", EVENT)
    assert len(deps.rate_store().list_rates()) == 29


def test_rate_writes_are_conditional_on_being_newer(stack: Stack) -> None:
    store = deps.rate_store()
    newer = ExchangeRate("usd", "eur", D("0.9213"), "2026-12-07T10:00:00.500000Z", "operator")
    assert store.put_rate(newer)
    assert not store.put_rate(newer._replace(rate=D("0.95")))  # as new
    assert not store.put_rate(newer._replace(rate=D("0.95"), as_of="2026-12-07T10:00:00Z"))  # older (and spelled apart)
    assert store.put_rate(newer._replace(rate=D("0.93"), as_of="2026-12-07T11:00:00+00:00"))
    (kept,) = store.read_rates([("operator", "usd", "eur"), ("ecb", "eur", "eur")]).run()
    assert kept.rate == D("0.93")
    assert store.put_rate(ExchangeRate("eur", "usd", D("1.1"), "2026-12-07T00:00:00Z", "ecb"))  # its own key
    assert len(store.list_rates()) == 2
    assert deps.catalog().list(Node) == []  # nothing the catalog store would decode


def test_fee_settings_are_one_entry_written_when_newer(stack: Stack) -> None:
    store = deps.fee_settings_store()
    assert store.get_fee_settings() is None
    assert store.read_fee_settings().run() is None
    settings = FeeSettings(D("2.9"), {"usd": D("0.25"), "jpy": D(0)}, D("3.9"), "2026-12-07T10:00:00Z")
    assert store.put_fee_settings(settings)
    assert not store.put_fee_settings(settings._replace(platform_fee_percent=D(5)))
    assert store.get_fee_settings() == settings
    assert store.read_fee_settings().run() == settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert cli.main(list(argv)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_the_rate_and_fees_commands(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    set_ = run(capsys, "rate", "set", "USD", "eur", "0.92130")
    assert (set_["base"], set_["target"], set_["rate"], set_["source"]) == ("usd", "eur", "0.9213", "operator")
    assert run(capsys, "rate", "list") == [set_]
    assert cli.main(["rate", "set", "usd", "usd", "1"]) == 2
    assert json.loads(capsys.readouterr().err)["error"]["details"][0]["field"] == "target"

    assert cli.main(["fees", "show"]) == 2
    assert json.loads(capsys.readouterr().err)["error"]["code"] == "fee_settings_missing"
    shown = run(
        capsys, "fees", "set", "--processing-percent", "2.9", "--fixed", "usd=0.25", "--fixed", "EUR=0.25",
        "--platform-percent", "3.9",
    )  # fmt: skip
    assert shown["provider_fixed_fees"] == {"eur": "0.25", "usd": "0.25"}
    assert run(capsys, "fees", "show") == shown
    bad = ["fees", "set", "--processing-percent", "2.9", "--fixed", "jpy=0.5", "--platform-percent", "3.9"]
    assert cli.main(bad) == 2
    assert json.loads(capsys.readouterr().err)["error"]["details"][0]["field"] == "provider_fixed_fees.jpy"
    assert cli.main(["fees", "set", "--processing-percent", "2.9", "--fixed", "usd=x", "--platform-percent", "1"]) == 2
    assert json.loads(capsys.readouterr().err)["error"]["details"][0]["field"] == "fixed.usd"
    assert run(capsys, "fees", "show") == shown
