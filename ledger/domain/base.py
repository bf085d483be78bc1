"""The base of the ledger's aggregates."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

_CONTAINERS = (list, dict, set)


class LedgerAggregate(Aggregate):
    """An aggregate whose state is immutable values, alone or in plain lists, sets
    and dicts: copying the containers copies the aggregate.

    The repository hands out a copy of every cached aggregate, so that a command
    that fails half-way leaves the cache untouched; the generic ``deepcopy`` walked
    every UUID and date and was the largest cost of a command.
    """

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        return self.copy()

    def copy(self) -> Any:
        """The copy ``deepcopy`` makes, without its bookkeeping (called for every
        aggregate a command reads)."""
        clone = object.__new__(type(self))
        state = clone.__dict__
        state.update(self.__dict__)
        for name, value in state.items():
            if isinstance(value, _CONTAINERS):
                state[name] = value.copy()
        return clone
