"""Checkpoints as C2SP signed notes, opened only with a pinned key."""

from __future__ import annotations

from pathlib import Path

import pytest

from projections import notes
from projections.notes import Checkpoint, NoteError, Signer, Verifier

# c2sp.org/signed-note's own example
EXAMPLE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
EXAMPLE_NOTE = (
    "This is an example message.\n\n\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
LOG = Signer.from_seed("volunteer-ledger.local/ledger", bytes(range(32)))
POINT = Checkpoint("volunteer-ledger.local/ledger", 20852163, bytes(range(32)))


def test_the_published_example_note_verifies_with_its_vkey() -> None:
    verifier = Verifier.parse(EXAMPLE_VKEY)
    assert verifier.vkey == EXAMPLE_VKEY
    assert notes.open_text(EXAMPLE_NOTE, verifier) == "This is an example message.\n"
    with pytest.raises(NoteError):
        notes.open_text(EXAMPLE_NOTE.replace("example message", "example massage"), verifier)


def test_a_checkpoint_round_trips_in_the_tlog_checkpoint_layout() -> None:
    note = notes.sign(POINT.text, LOG)
    assert note.startswith(
        "volunteer-ledger.local/ledger\n20852163\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n"
        "\u2014 volunteer-ledger.local/ledger "
    )
    assert notes.open_note(note, Verifier.parse(LOG.verifier.vkey)) == POINT


def test_a_note_is_opened_only_with_the_pinned_key() -> None:
    other = Signer.from_seed(LOG.name, bytes(32))
    forged = notes.sign(POINT.text, other)
    with pytest.raises(NoteError, match="not signed by the pinned key"):
        notes.open_note(forged, LOG.verifier)
    # the same key ID with another signature (a changed text) is refused too
    changed = notes.sign(POINT.text, LOG).replace("20852163", "20852164")
    with pytest.raises(NoteError, match="does not verify"):
        notes.open_note(changed, LOG.verifier)


@pytest.mark.parametrize(
    "note",
    [
        "no signatures\n",
        "text\n\nnot a signature line\n",
        "text\x07\n\n\u2014 a AAAAAAA=\n",
        "text\n\n\u2014 a not-base64!\n",
        "x" * 20_000 + "\n\n\u2014 a AAAAAAA=\n",
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(NoteError):
        notes.open_text(note, LOG.verifier)


@pytest.mark.parametrize(
    "text",
    ["origin\n012\nAAAA\n", "origin\n12\nnot base64\n", "origin\n12\n", "origin\n12\nAAAA\n"],
)
def test_a_malformed_checkpoint_body_is_refused(text: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


def test_a_verifier_key_whose_id_does_not_match_is_refused() -> None:
    name, _, material = LOG.verifier.vkey.split("+", 2)
    with pytest.raises(NoteError, match="ID"):
        Verifier.parse(f"{name}+00000000+{material}")


def test_a_witness_cosignature_is_checked_against_the_witness_key() -> None:
    witness = Signer.from_seed("witness.example/w1", bytes([7]) * 32, notes.COSIGNATURE)
    note = notes.cosign(notes.sign(POINT.text, LOG), witness, 1_679_315_147)
    assert notes.open_note(note, LOG.verifier) == POINT  # the log's signature still opens it
    assert notes.cosigned_at(note, witness.verifier) == 1_679_315_147
    stranger = Signer.from_seed("witness.example/w1", bytes([8]) * 32, notes.COSIGNATURE)
    with pytest.raises(NoteError):
        notes.cosigned_at(note, stranger.verifier)


def test_the_outside_log_appends_and_reads_back(tmp_path: Path) -> None:
    log = notes.CheckpointLog(tmp_path / "out" / "checkpoints.jsonl")
    assert log.last(LOG.verifier) is None
    log.append(notes.sign(POINT.text, LOG))
    log.append(notes.sign(Checkpoint(POINT.origin, POINT.size + 1, bytes(32)).text, LOG))
    sizes = [c.size for c, _ in log.checkpoints(LOG.verifier)]
    assert sizes == [POINT.size, POINT.size + 1]
    with pytest.raises(NoteError):
        log.checkpoints(Signer.from_seed(LOG.name, bytes(32)).verifier)
    with log.path.open("a") as torn:  # a crash in the middle of an append
        torn.write('{"note": "volunteer-ledger')
    assert [c.size for c, _ in log.checkpoints(LOG.verifier)] == sizes
    log.append(notes.sign(Checkpoint(POINT.origin, POINT.size + 2, bytes(32)).text, LOG))
    assert [c.size for c, _ in log.checkpoints(LOG.verifier)] == [*sizes, POINT.size + 2]
