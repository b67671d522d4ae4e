"""The README stays short and true; docs/api.md's tables are the code's; every error code answered is documented."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import yaml

from payments_core.domain.entities import KINDS
from payments_core.errors import ERROR_CODE_DOCS, ErrorCode

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SOURCES = [*sorted((ROOT / "layers").rglob("*.py")), *sorted((ROOT / "functions").rglob("*.py"))]


def test_the_readme_shows_the_two_commands_and_stays_short() -> None:
    assert "make dev" in README
    assert "make test" in README
    assert len(README.splitlines()) <= 200


def test_every_document_the_readme_links_exists() -> None:
    links = re.findall(r"\]\(((?:docs/)[^)#]*)\)", README)
    assert links
    for link in links:
        assert (ROOT / link).exists(), link


def _cli_commands() -> set[str]:
    """`kind action` of every paymentsctl command, from its parser."""
    import argparse

    from payments_core.cli import build_parser

    def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        found: dict[str, argparse.ArgumentParser] = {}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found.update(action.choices)
        return found

    return {f"{kind} {action}" for kind, sub in subcommands(build_parser()).items() for action in subcommands(sub)}


def test_the_operator_cli_block_shows_every_command_and_where_wallet_keys_are() -> None:
    text = (ROOT / "docs" / "local-stack.md").read_text()
    block = text.split("## The operator CLI", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = _cli_commands()
    assert {"network set-wallet", "keys rotate", "node create"} <= commands  # the parser is read
    shown = {c for c in commands if f" {c}" in block}
    listed = {c for c in commands if c.endswith(" list") and c.split()[0] in block.split("likewise", 1)[-1]}
    assert commands - shown - listed == set()
    assert "-wallet-<wallet id>" in text  # the wallet key's secret name
    assert "WALLET_SECRET_PREFIX" in text


def test_the_generated_tables_of_docs_api_md_are_current() -> None:
    spec = importlib.util.spec_from_file_location("docs_script", ROOT / "scripts" / "docs.py")
    assert spec is not None
    assert spec.loader is not None
    docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs)
    current = docs.API_DOC.read_text()
    assert docs.render(current) == current, "docs/api.md is stale: run make docs"


def test_every_error_code_is_documented() -> None:
    assert set(ERROR_CODE_DOCS) == set(ErrorCode)
    for status, when in ERROR_CODE_DOCS.values():
        assert re.fullmatch(r"[0-9x]{3}( / [0-9]{3})?", status), status
        assert when


def _answered_codes(tree: ast.AST) -> set[str]:
    """Error codes written as literals: `code="..."` arguments, `code = "..."` class attributes, the first
    string of a (code, message) pair, `{"code": "...", "message": ...}` bodies and `_error(status, "code", ...)`
    calls."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.keyword) and node.arg == "code") or (
            isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "code" for t in node.targets)
        ):
            found |= _strings(node.value)
        elif isinstance(node, ast.Dict) and {"code", "message"} <= _keys(node):  # a literal error body
            found |= _strings(node.values[[_key(k) for k in node.keys].index("code")])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_error":
            found |= _strings(node.args[1]) if len(node.args) > 1 else set()
        elif (
            isinstance(node, ast.Tuple)
            and len(node.elts) == 2
            and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
            and re.fullmatch(r"[a-z_]+", str(node.elts[0].value))  # type: ignore[attr-defined]
            and str(node.elts[1].value)[:1].isupper()  # type: ignore[attr-defined]
        ):
            found.add(str(node.elts[0].value))  # type: ignore[attr-defined]
    return found


def _key(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keys(node: ast.Dict) -> set[str | None]:
    return {_key(k) for k in node.keys}


def _strings(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.JoinedStr):  # f"{kind}_not_found": every catalog kind
        text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)  # type: ignore[misc]
        if text == "{}_not_found":
            return {f"{kind}_not_found" for kind in KINDS.values()}
        raise AssertionError(f"an error code built as {text!r}: document how it is built")
    return set()


def test_every_error_code_the_code_answers_is_an_error_code() -> None:
    answered: set[str] = set()
    for path in SOURCES:
        answered |= _answered_codes(ast.parse(path.read_text(), str(path)))
    assert {"payment_not_found", "validation_error", "node_access_denied"} <= answered  # the scan finds them
    assert answered - {c.value for c in ErrorCode} == set()


def test_every_error_code_api_gateway_answers_is_an_error_code() -> None:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    codes = set()
    for resource in template["Resources"].values():
        for answer in resource.get("Properties", {}).get("GatewayResponses", {}).values():
            for body in answer.get("ResponseTemplates", {}).values():
                codes.add(re.search(r'"code": "([a-z_]+)"', body).group(1))  # type: ignore[union-attr]
    assert len(codes) >= 5
    assert codes - {c.value for c in ErrorCode} == set()
