"""The registry worker's event handlers: training completions become credits, exactly once."""

from __future__ import annotations

from servicekit.consumer import EventHandlers
from servicekit.events.envelope import CloudEvent
from servicekit.mongo import Database

from registry.credentials import store as certificates
from registry.credits import store
from registry.credits.domain import ledger_marker
from registry.credits.events import TRAINING_TOPIC, EnrolmentCompleted
from registry.talents import store as talent_store

HANDLERS = EventHandlers()


class UnknownTalent(LookupError):
    """A completion for a talent the registry does not hold: retried, then dead-lettered for an
    operator (re-driven once the talent exists); never silently dropped."""


@HANDLERS.on(TRAINING_TOPIC, EnrolmentCompleted)
async def credit_completion(db: Database, event: CloudEvent, completion: EnrolmentCompleted) -> bool:
    if not await talent_store.exists(db[talent_store.COLLECTION], completion.talent_id):
        raise UnknownTalent(f"talent {completion.talent_id} is not in the registry")
    # The index first, the ledger second: a crash in between leaves an index entry the public
    # check does not trust until the ledger has the entry, and redelivery completes the pair.
    await certificates.index(db[certificates.COLLECTION], completion.certificate_number,
                             certificates.TRAINING_COMPLETION, completion.talent_id, completion.enrolment_id)
    entry = {
        "enrolment_id": completion.enrolment_id, "course_id": completion.course_id,
        "course_title": completion.course_title, "session_id": completion.session_id,
        "credit_hours": str(completion.credit_hours), "categories": list(completion.categories),
        "certificate_number": completion.certificate_number, "score": completion.score,
        "completed_at": completion.completed_at, "event_id": event.id,
    }
    return await store.credit(db[store.COLLECTION], completion.talent_id, ledger_marker(completion.enrolment_id),
                              entry)
