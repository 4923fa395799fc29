"""The demo dataset `make run` loads on start, one module per area:

- registry: organisations (those of the demo users, and more) with valid credit codes; a few dozen talents;
- trading: a few hundred patent listings in Chinese and English across IPC classes, with verified owners,
  published; a fair; technology needs, and the matchmaker's suggestions for them (waited for);
- training: courses (one the prerequisite of another) and their sessions;
- publicity: the campaign "4.26 知识产权宣传周 2027" with the fair pinned, its public events (a few places
  taken) and press releases (published, scheduled, a news draft).

Everything goes through the APIs, so events flow as in real use. Loading twice creates nothing twice:
every POST that creates carries an Idempotency-Key derived from what it creates (the APIs answer a
repeated key with what the first request created), each body is the same on every run (seeded
generators, fixed dates), and each state change (publish, verify, submit) is made only when the thing is
not in that state yet. Requests are made as development users (HS256 tokens of this profile).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from devstack.components import demo_users
from devstack.demo import publicity, registry, trading, training
from devstack.demo.common import Loader
from devstack.demo.registry import ORGANISATIONS
from devstack.demo.trading import listing_bodies
from devstack.layout import Profile

__all__ = ["KINDS", "ORGANISATIONS", "listing_bodies", "load"]

# What a run counts, in the order it creates them (a second run reports 0 of each).
KINDS = ("organisations", "talents", "listings", "published", "fairs", "needs", "courses", "sessions",
         "campaigns", "events", "registrations", "releases", "releases published", "releases scheduled")


def load(profile: Profile, listings: int = 240, talents: int = 36,
         report: Callable[[str], None] = print) -> dict[str, int]:
    """Load the dataset (idempotently); returns how many of each kind it created this time."""
    with httpx.Client(timeout=30) as client:
        loader = Loader(profile, client)
        registry.load_organisations(loader)
        registry.load_talents(loader, talents)
        trading.load_listings(loader, listings)
        fair = trading.load_fair(loader)
        trading.load_needs(loader)
        training.load_courses(loader)
        campaign_id = publicity.load_campaign(loader, fair)
        publicity.load_events(loader, campaign_id)
        publicity.load_releases(loader, campaign_id)
        matches = trading.matches_seen(loader)
    created = {kind: loader.created[kind] for kind in KINDS}
    report("demo data: created " + ", ".join(f"{n} {kind}" for kind, n in created.items())
           + f" (the rest existed already); the matchmaker suggested {matches} matches; demo users: "
           + ", ".join(u["username"] for u in demo_users()))
    return created
