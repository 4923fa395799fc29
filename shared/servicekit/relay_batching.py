"""Pure bookkeeping of the outbox relay: what is known to be waiting, and which documents go together.

`OutboxBacklog` keeps, per outbox document, how many events are waiting and since when, so the
backlog gauges are true at every moment rather than only after a sweep. Its figures come from three
sources, and each one is trusted only as far as it can be:

- a write's wake-up (`added`) says "n more events, written now"; it may reach the relay before or
  after the relay reads the document, so it can briefly count an event twice or not at all;
- a read of the document by `_id` (`observed`) is the truth for that document at that moment: it
  replaces whatever was known, except wake-ups that arrived after the read was issued (their events
  may be newer than what the read saw);
- the relay's clearing write (`published`) removes exactly the events the read found.

Every wake-up also queues a read of that document, and the sweep queues a read of everything it
finds, so any miscount from a race is corrected by the next read of the same document, which is
always on its way.

`take_batch` collects the documents one relay batch handles: everything already woken, each at most
once, leaving aside documents whose previous batch is still in flight (two batches of one document
in flight at once could reorder its events).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from dataclasses import dataclass, field

Key = tuple[str, Hashable]


@dataclass
class _Waiting:
    # Events the last read found, less those published since; and the oldest one's write time.
    seen: int = 0
    seen_oldest: float | None = None
    # Wake-ups since that read: (sequence number, events, written at).
    later: list[tuple[int, int, float]] = field(default_factory=list)

    def count(self) -> int:
        return self.seen + sum(n for _, n, _ in self.later)

    def oldest(self) -> float | None:
        times = [t for _, _, t in self.later]
        if self.seen and self.seen_oldest is not None:
            times.append(self.seen_oldest)
        return min(times) if times else None


@dataclass
class OutboxBacklog:
    """Events written but not yet published, per document; O(1) per change, O(documents) per `oldest`."""

    _docs: dict[Key, _Waiting] = field(default_factory=dict)
    _total: int = 0
    _seq: int = 0

    def total(self) -> int:
        return self._total

    def oldest(self) -> float | None:
        """Write time (Unix seconds) of the oldest event known to be waiting, None when none is."""
        times = [t for w in self._docs.values() if (t := w.oldest()) is not None]
        return min(times) if times else None

    def oldest_age(self, now: float | None = None) -> float:
        oldest = self.oldest()
        if oldest is None:
            return 0.0
        return max((time.time() if now is None else now) - oldest, 0.0)

    def waiting(self, key: Key) -> int:
        w = self._docs.get(key)
        return w.count() if w else 0

    def mark(self) -> int:
        """Call before issuing a read; pass the result to `observed` with what the read found."""
        return self._seq

    def added(self, key: Key, events: int, written_at: float) -> None:
        if events <= 0:
            return
        self._seq += 1
        w = self._docs.setdefault(key, _Waiting())
        w.later.append((self._seq, events, written_at))
        self._total += events

    def observed(self, key: Key, events: int, oldest: float | None, mark: int) -> None:
        """A read of the document (issued after `mark()` returned `mark`) found `events` waiting."""
        w = self._docs.setdefault(key, _Waiting())
        before = w.count()
        w.seen = events
        w.seen_oldest = oldest if events else None
        w.later = [entry for entry in w.later if entry[0] > mark]
        self._settle(key, w, before)

    def published(self, key: Key, events: int) -> None:
        """Events found by the last read were acknowledged by Kafka and cleared from the document."""
        w = self._docs.get(key)
        if w is None:
            return
        before = w.count()
        w.seen = max(w.seen - events, 0)
        if not w.seen:
            w.seen_oldest = None
        self._settle(key, w, before)

    def _settle(self, key: Key, w: _Waiting, before: int) -> None:
        after = w.count()
        self._total += after - before
        if after == 0:
            del self._docs[key]


def take_batch(first: Key, woken: asyncio.Queue[Key], in_flight: set[Key], limit: int) -> tuple[list[Key], set[Key]]:
    """`first` and whatever else is already queued, up to `limit` distinct documents, in wake order.

    Returns the batch and the documents set aside because a batch of theirs is in flight: the caller
    wakes those again once that batch ends (a repeated wake-up collapses into one read, which reads
    everything the document holds by then)."""
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
