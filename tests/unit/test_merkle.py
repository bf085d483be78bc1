"""The Merkle module against RFC 6962's published test vectors.

``data/rfc6962_probes.json`` holds the inclusion and consistency probes of
github.com/transparency-dev/merkle (Apache-2.0): the RFC 6962 vectors of the
reference implementation, each with mutations that must be refused.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from projections import merkle

PROBES = json.loads((Path(__file__).parent / "data" / "rfc6962_probes.json").read_text())

# RFC 6962 reference tree: its leaf inputs and the root of every prefix.
LEAF_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
               "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# RFC 6962 reference proofs (leaf indexes here are 0-based).
INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}  # fmt: skip
CONSISTENCY = {
    (1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
    (6, 7): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}  # fmt: skip

LEAVES = [merkle.leaf_hash(bytes.fromhex(x)) for x in LEAF_INPUTS]


def _stored(leaves: list[bytes]) -> dict[merkle.Node, bytes]:
    """Every perfect subtree of a tree, as the read model stores them."""
    tree = merkle.CompactRange()
    nodes: dict[merkle.Node, bytes] = {}
    for i, leaf in enumerate(leaves):
        nodes[(0, i)] = leaf
        nodes.update({(level, index): h for level, index, h in tree.append(leaf)})
    return nodes


def _b64(values: list[str] | None) -> list[bytes]:
    return [base64.b64decode(v) for v in values or []]


def test_the_roots_of_the_reference_tree() -> None:
    tree = merkle.CompactRange()
    assert tree.root().hex() == ROOTS[0]
    for size, leaf in enumerate(LEAVES, start=1):
        tree.append(leaf)
        assert tree.root().hex() == merkle.root(LEAVES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_inclusion_proofs_served_from_stored_nodes_match_the_rfc(index: int, size: int) -> None:
    stored = _stored(LEAVES)
    proof = merkle.assemble(merkle.inclusion_ranges(index, size), stored)
    assert [p.hex() for p in proof] == INCLUSION[(index, size)]
    merkle.verify_inclusion(index, size, LEAVES[index], proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new"), sorted(CONSISTENCY))
def test_consistency_proofs_served_from_stored_nodes_match_the_rfc(old: int, new: int) -> None:
    stored = _stored(LEAVES)
    proof = merkle.assemble(merkle.consistency_ranges(old, new), stored)
    assert [p.hex() for p in proof] == CONSISTENCY[(old, new)]
    roots = [bytes.fromhex(r) for r in ROOTS]
    merkle.verify_consistency(old, new, roots[old], roots[new], proof)


@pytest.mark.parametrize("probe", PROBES["inclusion"], ids=lambda p: p["file"])
def test_inclusion_probes(probe: dict[str, Any]) -> None:
    def check() -> None:
        merkle.verify_inclusion(
            probe["leafIdx"],
            probe["treeSize"],
            base64.b64decode(probe["leafHash"] or ""),
            _b64(probe["proof"]),
            base64.b64decode(probe["root"] or ""),
        )

    if probe["wantErr"]:
        with pytest.raises(merkle.ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("probe", PROBES["consistency"], ids=lambda p: p["file"])
def test_consistency_probes(probe: dict[str, Any]) -> None:
    def check() -> None:
        merkle.verify_consistency(
            probe["size1"],
            probe["size2"],
            base64.b64decode(probe["root1"] or ""),
            base64.b64decode(probe["root2"] or ""),
            _b64(probe["proof"]),
        )

    if probe["wantErr"]:
        with pytest.raises(merkle.ProofError):
            check()
    else:
        check()


def test_every_proof_of_a_larger_tree_verifies_and_a_changed_leaf_does_not() -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(37)]
    stored = _stored(leaves)
    for size in range(1, 38):
        top = merkle.root(leaves[:size])
        assert merkle.fold([stored[n] for n in merkle.CompactRange.nodes(size)]) == top
        for index in range(size):
            proof = merkle.assemble(merkle.inclusion_ranges(index, size), stored)
            merkle.verify_inclusion(index, size, leaves[index], proof, top)
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(index, size, merkle.leaf_hash(b"x"), proof, top)
        for old in range(1, size + 1):
            proof = merkle.assemble(merkle.consistency_ranges(old, size), stored)
            merkle.verify_consistency(old, size, merkle.root(leaves[:old]), top, proof)
            if old < size:
                other = merkle.root([*leaves[: old - 1], leaves[old]])
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(old, size, other, top, proof)


def test_the_leaf_of_an_event_is_its_stored_bytes_in_a_fixed_layout() -> None:
    from uuid import UUID

    data = merkle.event_leaf(
        258, UUID("00112233-4455-6677-8899-aabbccddeeff"), 3, "a:B", b'{"x":1}'
    )
    assert data.hex() == (
        "0000000000000102"
        "00112233445566778899aabbccddeeff"
        "0000000000000003"
        "00000003"
        "613a42"
        "00000007"
        "7b2278223a317d"
    )
