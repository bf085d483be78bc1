"""Every event the ledger stores is written byte for byte as the library's JSON
transcoder writes it: the audit tree hashes stored states, and existing databases
must read the same."""

from __future__ import annotations

from eventsourcing.persistence import JSONTranscoder

from ledger.application import Ledger
from ledger.simulation import Scale, generate
from ledger.transcodings import LedgerTranscoder

SMALL = Scale(
    communities=2,
    grids=2,
    units=3,
    party_members=30,
    branches=2,
    volunteer_teams=2,
    residents=10,
    days=40,
)


def library_transcoder(ledger: Ledger) -> JSONTranscoder:
    """The library's transcoder with the ledger's transcodings."""
    transcoder = JSONTranscoder()
    ledger.register_transcodings(transcoder)
    return transcoder


def test_every_event_of_a_generated_street_is_stored_as_the_library_writes_it(
    ledger: Ledger,
) -> None:
    assert isinstance(ledger.mapper.transcoder, LedgerTranscoder)
    generate(ledger, SMALL, seed=3)
    library = library_transcoder(ledger)
    stored = ledger.recorder.select_notifications(start=1, limit=1_000_000)
    topics = set()
    for event in stored:
        state = library.decode(event.state)
        assert library.encode(state) == event.state, event.topic
        assert ledger.mapper.transcoder.encode(state) == event.state, event.topic
        topics.add(event.topic)
    assert len(stored) > 1000
    assert len(topics) > 20  # creations, check-ins, awards, redemptions, rule book, …
