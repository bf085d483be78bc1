"""Checkpoints as C2SP signed notes, opened only with a pinned key."""

from __future__ import annotations

import re
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
    with pytest.raises(NoteError, match="未经固定公钥"):
        notes.open_note(forged, LOG.verifier)
    # the same key ID with another signature (a changed text) is refused too
    changed = notes.sign(POINT.text, LOG).replace("20852163", "20852164")
    with pytest.raises(NoteError, match="签名核验不通过"):
        notes.open_note(changed, LOG.verifier)


@pytest.mark.parametrize(
    ("note", "said"),
    [
        ("no signatures\n", "签名文本没有签名"),
        ("text\n\nnot a signature line\n", "签名行须以破折号"),
        ("text\x07\n\n\u2014 a AAAAAAA=\n", "签名文本含控制字符"),
        ("text\n\n\u2014 a not-base64!\n", "签名不是 base64"),
        ("x" * 20_000 + "\n\n\u2014 a AAAAAAA=\n", "签名文本过大"),
    ],
)
def test_malformed_notes_are_refused_in_chinese(note: str, said: str) -> None:
    with pytest.raises(NoteError, match=said) as refused:
        notes.open_text(note, LOG.verifier)
    assert re.search(r"[A-Za-z]{3,}", str(refused.value).replace("base64", "")) is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("origin\n012\nAAAA\n", "树的大小不是十进制数"),
        ("origin\n12\nnot base64\n", "树根哈希不是 base64"),
        ("origin\n12\n", "检查点应为账本名、树的大小、树根哈希三行"),
        ("origin\n12\nAAAA\n", "树根哈希不是 SHA-256 哈希"),
    ],
)
def test_a_malformed_checkpoint_body_is_refused_in_chinese(text: str, said: str) -> None:
    with pytest.raises(NoteError, match=said):
        Checkpoint.parse(text)


def test_a_verifier_key_whose_id_does_not_match_is_refused() -> None:
    name, _, material = LOG.verifier.vkey.split("+", 2)
    with pytest.raises(NoteError, match="密钥编号与公钥不符"):
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
