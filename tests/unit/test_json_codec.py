"""The API's JSON codec: money exact both ways, the standard library where it suffices."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import uuid
from decimal import Decimal
from typing import Any

import pytest
import simplejson

from payments_core.http import json_codec

VALUES: list[Any] = [
    {"a": 1, "b": [1.5, None, True, False, 'ü\n"\\'], "c": {}},
    {"price": Decimal("100.50"), "tiny": Decimal("0.000001"), "x": 0.1, "n": [Decimal("1E+2")]},
    {"id": uuid.UUID(int=7), "at": datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)},
    {1: "an int key", "nested": [{"deep": Decimal("-3.14")}]},
    [],
    "text",
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_writes_what_simplejson_with_decimals_writes(value: Any) -> None:
    expected = simplejson.dumps(value, use_decimal=True, separators=(",", ":"), default=str)
    assert json_codec.dumps(value) == expected


def test_money_round_trips_digit_for_digit() -> None:
    text = '{"price":100.50,"tiny":0.000001,"big":12345678901234567890.123456789,"n":3}'
    parsed = json_codec.loads(text)
    assert parsed == {
        "price": Decimal("100.50"),
        "tiny": Decimal("0.000001"),
        "big": Decimal("12345678901234567890.123456789"),
        "n": 3,
    }
    assert json_codec.dumps(parsed) == text


@pytest.mark.parametrize("text", ['{"p": NaN}', '{"p": Infinity}', '{"p": -Infinity}', "{", '{"a": 1,}', b"\xff\xfe"])
def test_what_is_not_json_is_a_decode_error(text: str | bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        json_codec.loads(text)


def test_an_answer_without_money_does_not_load_simplejson() -> None:
    # A cold start: the token and JWKS functions never need it.
    probe = (
        "import sys\n"
        "from decimal import Decimal\n"
        "from payments_core.http import json_codec\n"
        "json_codec.loads('{\"a\": 1.5}')\n"
        "json_codec.dumps({'access_token': 'x', 'expires_in': 3600})\n"
        "before = 'simplejson' in sys.modules\n"
        "json_codec.dumps({'price': Decimal('1.5')})\n"
        "print(before, 'simplejson' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=None)
    assert out.stdout.split() == ["False", "True"]
