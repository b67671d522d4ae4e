"""The README's tables are the code's: the status machine and the log event types."""

from __future__ import annotations

import re
from pathlib import Path

from payments_core.domain import status
from payments_core.models.payments import EventType

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _between(marker: str) -> str:
    match = re.search(rf"<!-- {marker}:start -->\n(.*?)\n<!-- {marker}:end -->", README, re.S)
    assert match, marker
    return match.group(1)


def test_status_table_is_generated_from_the_machine() -> None:
    assert _between("status-table") == status.markdown_table()


def test_every_event_type_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", _between("event-types"), re.M))
    assert documented == {e.value for e in EventType}


def test_the_two_commands_are_there() -> None:
    assert "make dev" in README
    assert "make test" in README
