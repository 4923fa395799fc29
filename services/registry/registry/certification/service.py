"""Use cases of certification: eligibility, the evaluation workflow, the rules.

Granting touches three documents (the certificate index, the talent, the evaluation) and has no
transaction, so it is written to be re-runnable: the certificate number is derived from the
evaluation's number, the index entry is insert-once, and the talent records the certification
(with its talent.certified event, in one update) only if it does not hold it yet. If a grant stops
half-way, the evaluation is still under review and the officer's retry finishes it; nothing is
granted twice and no event is published twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from servicekit import aggregates
from servicekit.auth import Principal
from servicekit.http import creation_key, fingerprint, key_reused, stale
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from registry import counters
from registry.certification import store
from registry.certification.domain import (
    OPEN_STATUSES,
    Eligibility,
    EvaluationRefused,
    EvaluationStatus,
    check_evaluation_step,
    eligibility,
    evaluation_id,
)
from registry.certification.models import EligibilityRead, EvaluationCreate, Refusal
from registry.certification.rules import RuleSetBody, default_rules
from registry.credentials import store as certificates
from registry.credits import service as credits
from registry.talents import service as talents
from registry.talents import store as talent_store
from registry.talents.domain import TalentCategory, TalentLevel, certificate_number


async def current_rules(ctx: ServiceContext) -> tuple[RuleSetBody, Document]:
    collection = ctx.db[store.RULES]
    doc = await store.rules(collection)
    if doc is None:
        await store.seed_rules(collection, default_rules().model_dump(mode="json"))
        doc = await store.rules(collection)
        assert doc is not None
    body = RuleSetBody.model_validate({k: doc[k] for k in ("edition", "description", "rules")})
    return body, doc


async def replace_rules(ctx: ServiceContext, body: RuleSetBody, expected_version: int, caller: Principal) -> Document:
    await current_rules(ctx)  # seeded, so there is a version to match
    update = {**body.model_dump(mode="json"), "updated_at": datetime.now(UTC), "updated_by": caller.subject}
    await aggregates.change_at_version(ctx.db, store.RULES_AGGREGATE, store.CURRENT_RULES, expected_version,
                                       lambda _current: ({"$set": update}, []),
                                       not_found=lambda: ProblemError(404, "Not found", "No rules.",
                                                                      kind="not-found"))
    return (await current_rules(ctx))[1]


async def assess(ctx: ServiceContext, talent: Document, level: TalentLevel,
                 category: TalentCategory) -> tuple[Eligibility, int]:
    rules, doc = await current_rules(ctx)
    ledger = await credits.entries(ctx, talent["_id"])
    return eligibility(rules.rule_for(level, category), level, category, talent, ledger), int(doc["version"])


# One open evaluation per talent, level and category: opening (check, marker, insert) and clearing the
# marker hold this lock on the triple (the API is the one writer of evaluations).
OPEN_EVALUATION = "open-evaluation"


async def apply(ctx: ServiceContext, data: EvaluationCreate, caller: Principal,
                idempotency_key: str | None) -> tuple[Document, bool]:
    talent = await talents.find_for(ctx, data.talent_id, caller)  # 404 for someone else's record
    if data.category.value not in talent["categories"]:
        raise ProblemError(422, "Category not practised",
                           f"Talent {data.talent_id} does not practise {data.category.value}; add it first.",
                           kind="category-not-declared",
                           errors=[{"pointer": "#/category", "detail": "not one of the talent's categories"}])
    collection = ctx.db[store.EVALUATIONS]
    body = data.model_dump(mode="json")
    key = creation_key(caller.subject, idempotency_key)
    request_print = fingerprint(body)
    # One open evaluation per talent, level and category: the check and the insert hold a lock on that
    # triple, so two simultaneous applications cannot both pass the check (the API is the one writer).
    triple = (data.talent_id, data.level.value, data.category.value)
    async with aggregates.exclusive(OPEN_EVALUATION, triple):
        pending = await store.open_for(ctx.db, *triple, [s.value for s in OPEN_STATUSES])
        # A retried request (same Idempotency-Key) is answered with what it made, below, never refused.
        # Most often the open evaluation is its own; only otherwise is the key looked up (a scan on
        # FerretDB, the rare path: a key reused while another evaluation of the triple is open).
        replay = pending is not None and idempotency_key is not None and (
            pending.get("creation_key") == key
            or await collection.find_one({"creation_key": key}, {"_id": 1}) is not None)
        if pending is not None and not replay:
            raise ProblemError(409, "Evaluation already open",
                               f"Evaluation {pending['_id']} for this level and category is still open.",
                               kind="evaluation-open", existing_id=pending["_id"])
        now = datetime.now(UTC)
        sequence = await counters.next_value(ctx.db, "evaluation", now.year)
        doc: Document = {
            "_id": evaluation_id(now.year, sequence), "year": now.year, "sequence": sequence, **body,
            "status": EvaluationStatus.APPLIED.value,
            "history": [{"status": EvaluationStatus.APPLIED.value, "at": now, "by": caller.subject, "reasons": []}],
            "refusal_reasons": [], "certificate_number": None, "eligibility_at_decision": None,
            "version": 1, "applied_at": now, "updated_at": now, "applied_by": caller.subject,
            "creation_key": key, "creation_fingerprint": request_print,
        }
        if not replay:
            # Before the insert, so an open evaluation always has its marker (see store.open_for).
            await store.mark_open(ctx.db, *triple, doc["_id"])
        try:
            await store.insert(ctx.db, doc)
        except aggregates.DuplicateCreation as dup:
            if not replay:
                await store.clear_open(ctx.db, *triple, doc["_id"])
            if dup.earlier is None:
                raise
            if dup.earlier.get("creation_fingerprint") != request_print:
                raise key_reused() from None
            return await _get(ctx, dup.earlier["_id"]), False
    return await _get(ctx, doc["_id"]), True


async def find_for(ctx: ServiceContext, evaluation: str, caller: Principal) -> Document:
    doc = await store.get(ctx.db[store.EVALUATIONS], evaluation)
    if doc is None:
        raise not_found(evaluation)
    talent = await talent_store.get(ctx.db[talent_store.COLLECTION], doc["talent_id"])
    if not talents.may_see_full(caller, talent or {}):
        raise not_found(evaluation)
    return doc


async def start_review(ctx: ServiceContext, evaluation: str, expected_version: int, caller: Principal) -> Document:
    return await _step(ctx, evaluation, expected_version, EvaluationStatus.UNDER_REVIEW, caller, {})


async def refuse(ctx: ServiceContext, evaluation: str, refusal: Refusal, expected_version: int,
                 caller: Principal) -> Document:
    current = await _get(ctx, evaluation)
    talent = await talents.find_any(ctx, current["talent_id"])
    if any(c.get("evaluation_id") == evaluation for c in talent.get("certifications", [])):
        # A grant stopped half-way already certified the talent: finish it, do not contradict it.
        raise ProblemError(409, "Grant in progress", "This evaluation's certification is already on the "
                           "talent's record; grant it again to complete it.", kind="grant-in-progress")
    return await _step(ctx, evaluation, expected_version, EvaluationStatus.REFUSED, caller,
                       {"refusal_reasons": refusal.reasons}, reasons=refusal.reasons)


async def grant(ctx: ServiceContext, evaluation: str, expected_version: int, caller: Principal) -> Document:
    current = await _get(ctx, evaluation)
    if current["version"] != expected_version:
        raise stale(current["version"])
    _check_step(current, EvaluationStatus.GRANTED)
    level, category = TalentLevel(current["level"]), TalentCategory(current["category"])
    talent = await talents.find_any(ctx, current["talent_id"])
    certificate = certificate_number(current["year"], current["sequence"])
    already = any(c.get("evaluation_id") == evaluation for c in talent.get("certifications", []))
    result, rules_version = await assess(ctx, talent, level, category)
    if not already and not result.eligible:
        missing = [{"kind": m.kind, "detail": m.detail} for m in result.missing]
        raise ProblemError(409, "Not eligible",
                           "The talent does not meet the certification rules: "
                           + "; ".join(m.detail for m in result.missing) + ".",
                           kind="not-eligible", missing=missing, rules_version=rules_version)
    await certificates.index(ctx.db[certificates.COLLECTION], certificate, certificates.CERTIFICATION,
                             talent["_id"], evaluation)
    await talents.certify(ctx, talent["_id"], level, category, certificate, evaluation)
    snapshot = EligibilityRead.of(talent["_id"], result, rules_version).model_dump(mode="json")
    return await _step(ctx, evaluation, expected_version, EvaluationStatus.GRANTED, caller,
                       {"certificate_number": certificate, "eligibility_at_decision": snapshot})


async def _step(ctx: ServiceContext, evaluation: str, expected_version: int, wanted: EvaluationStatus,
                caller: Principal, changes: dict[str, Any], reasons: list[str] | None = None) -> Document:
    def decide(current: Document) -> aggregates.Decision:
        _check_step(current, wanted)
        now = datetime.now(UTC)
        step = {"status": wanted.value, "at": now, "by": caller.subject, "reasons": reasons or []}
        return {"$set": {**changes, "status": wanted.value, "updated_at": now}, "$push": {"history": step}}, []

    after = await aggregates.change_at_version(ctx.db, store.AGGREGATE, evaluation, expected_version, decide,
                                               not_found=lambda: not_found(evaluation))
    if after["status"] not in OPEN_STATUSES:
        # Closed: its marker goes (left behind by a crash it would still read as no open evaluation).
        triple = (after["talent_id"], after["level"], after["category"])
        async with aggregates.exclusive(OPEN_EVALUATION, triple):
            await store.clear_open(ctx.db, *triple, evaluation)
    return after


def _check_step(current: Document, wanted: EvaluationStatus) -> None:
    try:
        check_evaluation_step(EvaluationStatus(current["status"]), wanted)
    except EvaluationRefused as exc:
        raise ProblemError(409, "Step not allowed", str(exc), kind="evaluation-step-refused",
                           current_status=current["status"]) from None


async def _get(ctx: ServiceContext, evaluation: str) -> Document:
    doc = await store.get(ctx.db[store.EVALUATIONS], evaluation)
    if doc is None:
        raise not_found(evaluation)
    return doc


def not_found(evaluation: str) -> ProblemError:
    return ProblemError(404, "Not found", f"No evaluation {evaluation} exists.", kind="not-found")
