"""The bulk import use case: validate every row, create the good ones once, report the rest.

Idempotent by construction: a row's creation key is `import:<owner>:<application number>`, stored in
the listing under the unique creation-key index, so importing the same file again (or a file that
repeats a patent) finds the earlier listing instead of creating another.
"""

from __future__ import annotations

from servicekit.auth import Principal, Role
from servicekit.http import fingerprint, key_reused
from servicekit.mongo import Document
from servicekit.problems import ProblemError
from servicekit.service import ServiceContext

from trading.imports.models import ImportError as RowProblem
from trading.imports.models import ImportOutcome, ImportReport, ImportRowResult
from trading.imports.rows import GoodRow, parse
from trading.listings import service as listings
from trading.listings import store as listing_store
from trading.listings.domain import ListingStatus
from trading.listings.metrics import LISTING_METRICS
from trading.organisations.projection import COLLECTION as ORGANISATIONS
from trading.organisations.projection import may_list_patents

ORGANISERS = frozenset({Role.COORDINATOR, Role.OFFICER, Role.ADMIN})


def import_key(owner: str, application_number: str) -> str:
    return f"import:{owner}:{application_number}"


async def import_csv(ctx: ServiceContext, text: str, caller: Principal, default_owner: str | None,
                     publish: bool, first_row: int) -> ImportReport:
    organiser = bool(caller.roles & ORGANISERS)
    if not organiser:
        # A participant imports its own listings only.
        own = await listings.acting_organisation(ctx.db, caller)
        if default_owner not in (None, own):
            raise ProblemError(403, "Not your organisation", "A participant imports listings of its own "
                               "organisation only.", kind="not-own-organisation",
                               errors=[{"query": "owner", "detail": "not the caller's organisation"}])
        default_owner = own
    parsed = parse(text, first_row)
    report = ImportReport(rows_total=parsed.rows_total)
    errors = [RowProblem(row=e.row, column=e.column, reason=e.reason) for e in parsed.errors]
    results: list[ImportRowResult] = []
    active: dict[str, bool] = {}

    async def owner_active(owner: str) -> bool:
        if owner not in active:
            active[owner] = may_list_patents(await ctx.db[ORGANISATIONS].find_one({"_id": owner}))
        return active[owner]

    for good in parsed.good:
        owner = good.owner_organisation_id or default_owner
        if owner is None:
            errors.append(RowProblem(row=good.row, column="owner_organisation_id",
                                     reason="no owner: fill the column or pass ?owner="))
            continue
        if not organiser and owner != default_owner:
            errors.append(RowProblem(row=good.row, column="owner_organisation_id",
                                     reason="a participant imports listings of its own organisation only"))
            continue
        if not await owner_active(owner):
            errors.append(RowProblem(row=good.row, column="owner_organisation_id",
                                     reason=f"{owner} is not an active organisation in the registry"))
            continue
        agent = good.listing.agent_organisation_id
        if agent is not None and not await owner_active(agent):
            errors.append(RowProblem(row=good.row, column="agent_organisation_id",
                                     reason=f"{agent} is not an active organisation in the registry"))
            continue
        key = import_key(owner, good.listing.application_number)
        row_owner: str = owner

        def prepare(patent: Document | None, row: GoodRow = good, owner: str = row_owner, key: str = key) -> Document:
            doc = listings.prepared_document(row.listing, owner, key, patent)
            # The fingerprint covers the owner too: the same row for another owner is another listing.
            doc["creation_fingerprint"] = fingerprint({"owner": owner, **row.listing.model_dump(mode="json")})
            return doc

        try:
            saved, created = await listings.insert_new(ctx, good.listing.application_number, prepare)
        except ProblemError as problem:
            if problem.kind == "one-open-listing":
                errors.append(RowProblem(row=good.row, column="application_number", reason=problem.detail))
                continue
            if problem.kind != key_reused().kind:  # the patent's rules refused the row
                pointer = (problem.errors or [{}])[0].get("pointer", "")
                errors.append(RowProblem(row=good.row, column=pointer.removeprefix("#/") or None,
                                         reason=problem.detail))
                continue
            # Same patent and owner imported before with other content: keep the earlier listing.
            earlier = await ctx.db[listing_store.COLLECTION].find_one({"creation_key": key}, {"_id": 1})
            results.append(ImportRowResult(row=good.row, outcome=ImportOutcome.ALREADY_PRESENT,
                                           listing_id=earlier["_id"] if earlier else None,
                                           note="imported before with different content; not changed"))
            continue
        if publish and saved["status"] == ListingStatus.DRAFT.value:
            try:
                saved = await listings.publish(ctx, saved["_id"], None, saved["version"])
            except ProblemError as problem:
                errors.append(RowProblem(row=good.row, column="expires_on" if "expired" in problem.kind else None,
                                         reason=f"created as a draft but not published: {problem.detail}"))
        results.append(ImportRowResult(row=good.row, listing_id=saved["_id"], status=saved["status"],
                                       outcome=ImportOutcome.CREATED if created else ImportOutcome.ALREADY_PRESENT))
    rejected_rows = {e.row for e in errors if e.row > 1 and not any(r.row == e.row for r in results)}
    for outcome in ImportOutcome:
        LISTING_METRICS.import_rows.labels(outcome.value).inc(
            len(rejected_rows) if outcome == ImportOutcome.REJECTED else sum(r.outcome == outcome for r in results))
    return report.model_copy(update={
        "created": sum(r.outcome == ImportOutcome.CREATED for r in results),
        "already_present": sum(r.outcome == ImportOutcome.ALREADY_PRESENT for r in results),
        "rejected": len(rejected_rows), "rows": results, "errors": sorted(errors, key=lambda e: e.row),
    })
