"""Pure bookkeeping of the outbox relay: which events are waiting, in flight, sent, and which documents
go together.

`RelayBook` holds, per outbox document, the events the relay knows of, each in one of three states:

- **pending**: written (the write's wake-up carried them, or a sweep read them from a document nobody
  in this process announced) and not yet handed to Kafka;
- **taken**: handed to Kafka by a batch in flight, acknowledgements not all in;
- **sent**: acknowledged by Kafka, not yet tidied: the relay's tidy-up then drops the document's
  marker (the entries may stay in the document, see servicekit.outbox) or removes them, or the
  document's next write removes them.

The backlog gauges read pending + taken (written, not yet acknowledged), so they are true at every
moment: a write adds to them, an acknowledgement takes off, a failed send puts back. Events are kept in
`pos` order (write time, then place in the write) per document, so a document's events always leave
in the order they were written, whichever way they became known.

`take_batch` collects the documents one relay batch handles: everything already woken, each at most
once, leaving aside documents whose previous batch is still in flight (two batches of one document
in flight at once could reorder its events).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, Hashable]


@dataclass(frozen=True)
class Entry:
    """One outbox entry: the event's id, its `pos` in the document's outbox, its write time (Unix
    seconds) and the event itself (opaque here)."""

    event_id: str
    pos: str
    written_at: float
    event: Any = None


@dataclass
class RelayBook:
    pending: dict[Key, list[Entry]] = field(default_factory=dict)
    taken: dict[Key, list[Entry]] = field(default_factory=dict)
    sent: dict[Key, list[str]] = field(default_factory=dict)
    _total: int = 0

    def total(self) -> int:
        """Events written and not yet acknowledged by Kafka (pending + taken)."""
        return self._total

    def oldest(self) -> float | None:
        """Write time of the oldest event not yet acknowledged, None when there is none."""
        times = [entries[0].written_at for entries in (*self.pending.values(), *self.taken.values()) if entries]
        return min(times) if times else None

    def oldest_age(self, now: float) -> float:
        oldest = self.oldest()
        return 0.0 if oldest is None else max(now - oldest, 0.0)

    def knows(self, key: Key) -> bool:
        return key in self.pending or key in self.taken or key in self.sent

    def unsent(self, key: Key) -> int:
        return len(self.pending.get(key, ())) + len(self.taken.get(key, ()))

    def _known_ids(self, key: Key) -> set[str]:
        return ({e.event_id for e in self.pending.get(key, ())} | {e.event_id for e in self.taken.get(key, ())}
                | set(self.sent.get(key, ())))

    def add(self, key: Key, entries: Iterable[Entry]) -> int:
        """Events to send (from a wake-up or a read of the document); those already known are skipped.
        Returns how many were new."""
        known = self._known_ids(key)
        new = [e for e in entries if e.event_id not in known]
        if new:
            waiting = self.pending.setdefault(key, [])
            waiting.extend(new)
            waiting.sort(key=lambda e: e.pos)
            self._total += len(new)
        return len(new)

    def add_sent(self, key: Key, event_ids: Iterable[str]) -> None:
        """Events a read found in the document that an earlier relay recorded as sent: only to tidy."""
        known = self._known_ids(key)
        new = [i for i in event_ids if i not in known]
        if new:
            self.sent.setdefault(key, []).extend(new)

    def take(self, key: Key) -> list[Entry]:
        """Hand the document's pending events to a batch (in `pos` order)."""
        entries = self.pending.pop(key, [])
        if entries:
            self.taken[key] = entries
        return entries

    def acknowledged(self, key: Key) -> list[Entry]:
        """Kafka acknowledged everything the batch took of this document."""
        entries = self.taken.pop(key, [])
        if entries:
            self.sent.setdefault(key, []).extend(e.event_id for e in entries)
            self._total -= len(entries)
        return entries

    def failed(self, key: Key) -> None:
        """A send of the batch failed: all it took of this document waits again, ahead of newer ones."""
        entries = self.taken.pop(key, [])
        if entries:
            waiting = self.pending.setdefault(key, [])
            waiting[:0] = entries
            waiting.sort(key=lambda e: e.pos)

    def clearable(self, key: Key) -> list[str]:
        """Sent events still in the document's outbox."""
        return list(self.sent.get(key, ()))

    def cleared(self, key: Key, event_ids: Iterable[str]) -> None:
        """These sent events were removed from the document's outbox."""
        gone = set(event_ids)
        left = [i for i in self.sent.get(key, ()) if i not in gone]
        if left:
            self.sent[key] = left
        else:
            self.sent.pop(key, None)


def take_batch(first: Key, woken: asyncio.Queue[Key], in_flight: set[Key], limit: int) -> tuple[list[Key], set[Key]]:
    """`first` and whatever else is already queued, up to `limit` distinct documents, in wake order.

    Returns the batch and the documents set aside because a batch of theirs is in flight: the caller
    wakes those again once that batch ends (a repeated wake-up collapses into one, which takes
    everything the document has pending by then)."""
    batch: list[Key] = []
    chosen: set[Key] = set()
    deferred: set[Key] = set()
    key: Key | None = first
    while key is not None:
        if key in in_flight:
            deferred.add(key)
        elif key not in chosen:
            chosen.add(key)
            batch.append(key)
        if len(batch) >= limit:
            break
        try:
            key = woken.get_nowait()
        except asyncio.QueueEmpty:
            key = None
    return batch, deferred
