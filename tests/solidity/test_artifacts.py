"""The committed artifacts match the committed sources, settings and pins (no node needed).

`cd contracts && node build.mjs --check` is the full check (it recompiles); this one recomputes the artifacts'
sourceHash with the recipe documented in contracts/build.mjs, so a source edited without a rebuild fails here too."""

from __future__ import annotations

import json
import re

import pytest

from tests.solidity.evm import ARTIFACTS_DIR, CONTRACTS_DIR, load_artifact, source_hash, source_manifest

# EVM versions eth-tester's py-evm backend runs (PragueVM) and solc knows, oldest first.
EVM_VERSIONS_UP_TO_PRAGUE = ["paris", "shanghai", "cancun", "prague"]
CONCRETE_CONTRACT = re.compile(r"^contract\s+(\w+)", re.MULTILINE)  # not `abstract contract`, interface or library


def artifact_names() -> list[str]:
    return sorted(p.stem for p in ARTIFACTS_DIR.glob("*.json"))


def test_every_concrete_contract_has_an_artifact_and_nothing_else_does() -> None:
    declared = sorted(
        name
        for path in (CONTRACTS_DIR / "src").rglob("*.sol")
        for name in CONCRETE_CONTRACT.findall(path.read_text(encoding="utf-8"))
    )
    assert declared == [
        "Diamond",
        "FeeOnTransferToken",
        "MockUSDT",
        "PaymentsFacet",
        "ReentrantToken",
        "UpgradeProbeFacet",
    ]
    assert artifact_names() == declared


@pytest.mark.parametrize("name", artifact_names())
def test_artifact_is_built_from_the_committed_sources(name: str) -> None:
    artifact = load_artifact(name)
    manifest = source_manifest()

    assert artifact["sourceHash"] == source_hash(), (
        f"artifacts/{name}.json is stale: run `make contracts` and commit contracts/artifacts/"
    )
    assert artifact["contractName"] == name
    assert artifact["sourceName"] in manifest["sources"]
    assert artifact["compiler"]["version"].startswith(manifest["compiler"] + "+")
    assert artifact["compiler"]["evmVersion"] == manifest["settings"]["evmVersion"]
    assert artifact["compiler"]["optimizer"] == manifest["settings"]["optimizer"]
    assert re.fullmatch(r"0x(?:[0-9a-f]{2})+", artifact["bytecode"])
    assert re.fullmatch(r"0x(?:[0-9a-f]{2})+", artifact["deployedBytecode"])
    assert len(artifact["deployedBytecode"]) // 2 - 1 <= 24_576  # EIP-170 code size limit
    assert artifact["abi"]


@pytest.mark.parametrize("name", artifact_names())
def test_artifact_is_written_canonically(name: str) -> None:
    """Sorted keys, 2-space indent, trailing newline: what build.mjs writes, so a rebuild is byte-identical."""
    text = (ARTIFACTS_DIR / f"{name}.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_chain_layer_ships_the_facets_abi() -> None:
    """layers/chain carries a copy of the PaymentsFacet ABI (the Lambda layer has no contracts/): after `make
    contracts`, refresh it with `json.dumps(abi, indent=1)` (a new function the client calls would be missing)."""
    shipped = CONTRACTS_DIR.parent / "layers" / "chain" / "payments_chain" / "abi" / "PaymentsFacet.json"
    assert json.loads(shipped.read_text(encoding="utf-8")) == load_artifact("PaymentsFacet")["abi"]


def test_build_settings_and_pins() -> None:
    manifest = source_manifest()
    settings = manifest["settings"]
    assert manifest["compiler"] == "0.8.37"
    assert settings["evmVersion"] in EVM_VERSIONS_UP_TO_PRAGUE
    assert settings["optimizer"]["enabled"] is True
    # package.json pins exact versions, and the lockfile agrees with them
    dependencies: dict[str, str] = manifest["dependencies"]
    assert dependencies["solc"] == manifest["compiler"]
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in dependencies.values()), dependencies
    lock = json.loads((CONTRACTS_DIR / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][""]["dependencies"] == dependencies
    for package, version in dependencies.items():
        assert lock["packages"][f"node_modules/{package}"]["version"] == version


def test_source_hash_changes_with_sources_and_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The hash covers the source bytes and the settings (so the staleness check above can fail)."""
    copy = tmp_path_factory.mktemp("contracts")
    for relative in ["build.config.json", "package.json", *source_manifest()["sources"]]:
        target = copy / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((CONTRACTS_DIR / relative).read_bytes())
    assert source_hash(copy) == source_hash()

    facet = copy / "src/facets/PaymentsFacet.sol"
    facet.write_bytes(facet.read_bytes() + b"\n")
    edited_source = source_hash(copy)
    assert edited_source != source_hash()

    config = json.loads((copy / "build.config.json").read_text(encoding="utf-8"))
    config["settings"]["optimizer"]["runs"] += 1
    (copy / "build.config.json").write_text(json.dumps(config), encoding="utf-8")
    assert source_hash(copy) not in {edited_source, source_hash()}
