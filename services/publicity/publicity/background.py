"""Work the publicity API process does in the background (declared in the service definition, run by
the kit after the indexes are ready, so also at start-up):

- `release-scheduler`: publishes every scheduled release whose embargo has passed (the schedule markers
  are the truth; publishing is idempotent), so a release due while the service was down is published
  seconds after it comes back; sets the overdue gauge;
- `domain-gauges`: releases by state, drafts awaiting review, force-published releases awaiting
  approval, and each open campaign's items and fair figures.
"""

from __future__ import annotations

from servicekit.background import BackgroundTask
from servicekit.service import ServiceContext

from publicity import metrics
from publicity.campaigns import service as campaigns
from publicity.campaigns import store as campaign_store
from publicity.releases import service as releases
from publicity.releases import store as release_store
from publicity.releases.domain import ReleaseState
from publicity.settings import PublicitySettings


async def _schedule(ctx: ServiceContext) -> None:
    await releases.run_scheduler(ctx)


async def refresh_gauges(ctx: ServiceContext) -> None:
    g = metrics.gauges()
    counts: dict[tuple[str, str], int] = {(k, s.value): 0 for k in ("press_release", "news") for s in ReleaseState}
    waiting = {"press_release": 0, "news": 0}
    # Releases by state, and those force-published awaiting approval: kept with each change (a tally).
    counted, forced = await release_store.counts(ctx.db)
    counts.update(counted)
    for (kind, state), n in counts.items():
        g.releases.labels(kind, state).set(n)
        if state in (ReleaseState.DRAFT.value, ReleaseState.SUBMITTED.value):
            waiting[kind] += n
    for kind, n in waiting.items():
        g.drafts_awaiting_review.labels(kind).set(n)
    g.forced_unapproved.set(forced)
    for doc in await campaign_store.open_ones(ctx.db):
        page = await campaigns.overview(ctx.db, doc)
        g.campaign_items.labels(doc["_id"], "fair").set(page["totals"]["fairs"])
        g.campaign_fair_deals.labels(doc["_id"]).set(page["totals"]["fair_deals"])
        g.campaign_fair_amount.labels(doc["_id"]).set(page["totals"]["fair_deal_amount_fen"] / 100)
        g.campaign_items.labels(doc["_id"], "event").set(page["totals"]["events"])
        g.campaign_items.labels(doc["_id"], "session").set(page["totals"]["sessions"])
        g.campaign_registrations.labels(doc["_id"]).set(page["totals"]["registrations"])
        g.campaign_check_ins.labels(doc["_id"]).set(page["totals"]["check_ins"])
        g.campaign_items.labels(doc["_id"], "activity").set(page["totals"]["activities"])
        g.campaign_reach.labels(doc["_id"], "participants").set(page["totals"]["reached_participants"])
        g.campaign_reach.labels(doc["_id"], "online_views").set(page["totals"]["reached_online_views"])


def _scheduler_every(settings: PublicitySettings) -> float:
    return settings.scheduler_seconds


def _gauges_every(settings: PublicitySettings) -> float:
    return settings.gauges_seconds


RELEASE_SCHEDULER = BackgroundTask("release-scheduler", _schedule, _scheduler_every, prepare=metrics.export,
                                   budget_seconds=30.0)
DOMAIN_GAUGES = BackgroundTask("domain-gauges", refresh_gauges, _gauges_every, prepare=metrics.export)
