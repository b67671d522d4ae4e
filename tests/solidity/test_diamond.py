"""The diamond itself (EIP-2535): loupe, ERC-165, ownership, and upgrades with diamondCut."""

from __future__ import annotations

from functools import reduce

from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from tests.solidity.evm import (
    ZERO_ADDRESS,
    DealStatus,
    FacetCutAction,
    System,
    at_diamond,
    cut,
    deploy,
    event_args,
    load_artifact,
    ref,
    reverts_with,
    selectors,
    send,
)

# Selectors the Diamond registers for itself in its constructor (immutable: they can never be replaced or removed).
DIAMOND_OWN_SIGNATURES = [
    "getFallbackAddress()",
    "setFallbackAddress(address)",
    "diamondCut((address,uint8,bytes4[])[],address,bytes)",
    "facets()",
    "facetFunctionSelectors(address)",
    "facetAddresses()",
    "facetAddress(bytes4)",
    "supportsInterface(bytes4)",
    "owner()",
    "nomineeOwner()",
    "transferOwnership(address)",
    "acceptOwnership()",
]


def sig(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


def interface_id(*signatures: str) -> bytes:
    """ERC-165 interface id: XOR of the function selectors."""
    return reduce(lambda a, b: bytes(x ^ y for x, y in zip(a, b, strict=True)), (sig(s) for s in signatures))


def create_deal(system: System, text: str) -> int:
    receipt = send(
        system.w3,
        system.payments.functions.createDeal(ref(text), system.payee, system.usdt.address, 10**6, system.now() + 60),
        system.platform,
    )
    return int(event_args(system.payments, "DealCreated", receipt)[0]["dealId"])


# --- loupe and introspection ------------------------------------------------------------------------------------------


def test_loupe_lists_the_diamond_and_the_payments_facet(system: System) -> None:
    diamond, facet = system.diamond, system.payments_facet
    payment_selectors = selectors(facet.abi)
    assert sorted(f["name"] for f in facet.abi if f["type"] == "function") == [
        "cancelDeal",
        "createDeal",
        "createDeals",
        "dealIdOf",
        "deposit",
        "getDeal",
        "isPlatformWallet",
        "setPlatformWallet",
    ]

    assert diamond.functions.facetAddresses().call() == [diamond.address, facet.address]
    assert [(f.target, f.selectors) for f in diamond.functions.facets().call()] == [
        (diamond.address, [sig(s) for s in DIAMOND_OWN_SIGNATURES]),
        (facet.address, payment_selectors),
    ]
    assert diamond.functions.facetFunctionSelectors(facet.address).call() == payment_selectors
    for selector in payment_selectors:
        assert diamond.functions.facetAddress(selector).call() == facet.address
    assert diamond.functions.facetAddress(sig("diamondCut((address,uint8,bytes4[])[],address,bytes)")).call() == (
        diamond.address
    )
    assert diamond.functions.facetAddress(sig("nothing()")).call() == ZERO_ADDRESS


def test_supports_the_erc165_interfaces_of_a_diamond(system: System) -> None:
    supports = system.diamond.functions.supportsInterface
    erc165 = interface_id("supportsInterface(bytes4)")
    diamond_cut = interface_id("diamondCut((address,uint8,bytes4[])[],address,bytes)")
    loupe = interface_id("facets()", "facetFunctionSelectors(address)", "facetAddresses()", "facetAddress(bytes4)")
    erc173 = interface_id("owner()", "transferOwnership(address)")

    # the ids published in ERC-165, EIP-2535 and ERC-173
    published = ["01ffc9a7", "1f931c1c", "48e2b093", "7f5828d0"]
    assert [erc165.hex(), diamond_cut.hex(), loupe.hex(), erc173.hex()] == published
    assert all(supports(i).call() for i in (erc165, diamond_cut, loupe, erc173))
    assert supports(bytes.fromhex("ffffffff")).call() is False


def test_facet_code_and_storage_slot(system: System) -> None:
    # what is deployed is exactly the committed artifact's runtime code (no immutables, no constructor state)
    assert system.w3.eth.get_code(system.payments_facet.address) == HexBytes(
        load_artifact("PaymentsFacet")["deployedBytecode"]
    )
    # PaymentsStorage lives at its ERC-7201 slot of the diamond; its first field is lastDealId
    slot = int.from_bytes(keccak((int.from_bytes(keccak(text="rudiq.payments.storage.v1")) - 1).to_bytes(32)))
    slot &= ~0xFF
    assert hex(slot) == "0x1b4599ee70270256f366edd7052ea4fd735fc6a4f2a7e76c2f274b3df13c200"
    create_deal(system, "pay_slot_1")
    create_deal(system, "pay_slot_2")
    assert int.from_bytes(system.w3.eth.get_storage_at(system.diamond.address, slot)) == 2
    # the facet's own storage is untouched: everything ran by delegatecall in the diamond's context
    assert int.from_bytes(system.w3.eth.get_storage_at(system.payments_facet.address, slot)) == 0


# --- ownership --------------------------------------------------------------------------------------------------------


def test_ownership_is_two_step_and_governs_the_facets(system: System) -> None:
    diamond, new_owner = system.diamond, system.account(7)
    assert diamond.functions.owner().call() == system.owner

    with reverts_with(diamond.abi, "Ownable__NotOwner"):
        send(system.w3, diamond.functions.transferOwnership(new_owner), system.stranger)

    send(system.w3, diamond.functions.transferOwnership(new_owner), system.owner)
    assert diamond.functions.nomineeOwner().call() == new_owner
    assert diamond.functions.owner().call() == system.owner  # not yet: the nominee must accept
    receipt = send(system.w3, diamond.functions.acceptOwnership(), new_owner)
    assert event_args(diamond, "OwnershipTransferred", receipt) == [
        {"previousOwner": system.owner, "newOwner": new_owner}
    ]
    assert diamond.functions.owner().call() == new_owner

    # the PaymentsFacet's onlyOwner reads the same ownership storage
    with reverts_with(system.payments.abi, "Ownable__NotOwner"):
        send(system.w3, system.payments.functions.setPlatformWallet(system.stranger, True), system.owner)
    send(system.w3, system.payments.functions.setPlatformWallet(system.stranger, True), new_owner)
    assert system.payments.functions.isPlatformWallet(system.stranger).call() is True


# --- diamondCut -------------------------------------------------------------------------------------------------------


def test_facet_added_later_is_reachable_through_the_loupe_and_callable(system: System) -> None:
    create_deal(system, "pay_before_upgrade_1")
    create_deal(system, "pay_before_upgrade_2")
    probe = deploy(system.w3, "UpgradeProbeFacet", system.owner)
    probe_selectors = selectors(probe.abi)
    assert probe_selectors == [sig("lastDealId()"), sig("probeVersion()")]
    diamond = system.diamond
    for selector in probe_selectors:
        assert diamond.functions.facetAddress(selector).call() == ZERO_ADDRESS

    receipt = cut(
        system.w3,
        diamond,
        system.owner,
        target=probe.address,
        action=FacetCutAction.ADD,
        facet_selectors=probe_selectors,
    )

    (event,) = event_args(diamond, "DiamondCut", receipt)
    facet_cuts = [(c["target"], c["action"], c["selectors"]) for c in event["facetCuts"]]
    assert facet_cuts == [(probe.address, FacetCutAction.ADD, probe_selectors)]
    assert (event["target"], event["data"]) == (ZERO_ADDRESS, b"")
    for selector in probe_selectors:
        assert diamond.functions.facetAddress(selector).call() == probe.address
    assert diamond.functions.facetFunctionSelectors(probe.address).call() == probe_selectors
    assert diamond.functions.facetAddresses().call() == [diamond.address, system.payments_facet.address, probe.address]
    # called through the diamond, the new facet reads the storage the PaymentsFacet wrote
    upgraded = at_diamond(system.w3, diamond, "UpgradeProbeFacet")
    assert upgraded.functions.lastDealId().call() == 2
    assert upgraded.functions.probeVersion().call() == 2
    assert probe.functions.lastDealId().call() == 0  # the facet's own storage is empty

    cut(
        system.w3,
        diamond,
        system.owner,
        target=ZERO_ADDRESS,
        action=FacetCutAction.REMOVE,
        facet_selectors=probe_selectors,
    )

    assert diamond.functions.facetAddress(probe_selectors[0]).call() == ZERO_ADDRESS
    assert diamond.functions.facetAddresses().call() == [diamond.address, system.payments_facet.address]
    with reverts_with(diamond.abi, "Proxy__ImplementationIsNotContract"):
        upgraded.functions.lastDealId().call()


def test_replacing_the_payments_facet_keeps_the_deals(system: System) -> None:
    deal_id = create_deal(system, "pay_survives_upgrade")
    new_facet = deploy(system.w3, "PaymentsFacet", system.owner)
    payment_selectors = selectors(new_facet.abi)

    cut(
        system.w3,
        system.diamond,
        system.owner,
        target=new_facet.address,
        action=FacetCutAction.REPLACE,
        facet_selectors=payment_selectors,
    )

    assert system.diamond.functions.facetAddresses().call() == [system.diamond.address, new_facet.address]
    assert all(system.diamond.functions.facetAddress(s).call() == new_facet.address for s in payment_selectors)
    deal = system.payments.functions.getDeal(deal_id).call()
    assert (deal.ref, deal.creator, DealStatus(deal.status)) == (
        ref("pay_survives_upgrade"),
        system.platform,
        DealStatus.OPEN,
    )
    assert system.payments.functions.isPlatformWallet(system.platform).call() is True
    assert create_deal(system, "pay_after_upgrade") == deal_id + 1


def test_diamond_cut_is_owner_only_and_guards_its_selectors(system: System) -> None:
    diamond, w3 = system.diamond, system.w3
    probe = deploy(w3, "UpgradeProbeFacet", system.owner)

    with reverts_with(diamond.abi, "Ownable__NotOwner"):
        cut(
            w3,
            diamond,
            system.stranger,
            target=probe.address,
            action=FacetCutAction.ADD,
            facet_selectors=selectors(probe.abi),
        )
    with reverts_with(diamond.abi, "Ownable__NotOwner"):
        cut(
            w3,
            diamond,
            system.platform,
            target=probe.address,
            action=FacetCutAction.ADD,
            facet_selectors=selectors(probe.abi),
        )
    # a selector can be added once
    with reverts_with(diamond.abi, "DiamondWritable__SelectorAlreadyAdded"):
        cut(
            w3,
            diamond,
            system.owner,
            target=probe.address,
            action=FacetCutAction.ADD,
            facet_selectors=[sig("deposit(uint256)")],
        )
    # the diamond's own selectors (cut, loupe, ownership) are immutable
    with reverts_with(diamond.abi, "DiamondWritable__SelectorIsImmutable"):
        cut(
            w3,
            diamond,
            system.owner,
            target=ZERO_ADDRESS,
            action=FacetCutAction.REMOVE,
            facet_selectors=[sig(DIAMOND_OWN_SIGNATURES[2])],
        )
    # a facet must be a contract
    with reverts_with(diamond.abi, "DiamondWritable__TargetHasNoCode"):
        cut(
            w3,
            diamond,
            system.owner,
            target=system.stranger,
            action=FacetCutAction.ADD,
            facet_selectors=[sig("lastDealId()")],
        )

    assert diamond.functions.facetAddress(sig("lastDealId()")).call() == ZERO_ADDRESS
