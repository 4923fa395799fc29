"""What a session adds to training's gauge tallies (pure): the counts that do not depend on the clock in
the overall tally, its times and free seats in the tally of the month it ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from servicekit import tallies
from training.sessions.store import AGGREGATE, ENDING_TALLY, SESSIONS_TALLY, contribution

STARTS = datetime(2027, 3, 31, 20, 0, tzinfo=UTC)


def session(**fields: object) -> dict[str, object]:
    return {"_id": "s1", "starts_at": STARTS, "ends_at": STARTS + timedelta(hours=8), "capacity": 5,
            "seats_taken": 2, "enrolments": {"s1-00001": {"state": "booked"}, "s1-00002": {"state": "booked"},
                                             "s1-00003": {"state": "waitlisted"}},
            # a summary of the enrolments, not what is counted (the enrolments are)
            "counts": {"booked": 0}, **fields}


def test_a_session_counts_its_enrolments_overall_and_its_times_in_the_month_it_ends() -> None:
    start, end = int(STARTS.timestamp()), int((STARTS + timedelta(hours=8)).timestamp())
    assert contribution(session()) == {
        SESSIONS_TALLY: {"sessions": 1, "ending_months.2027-04": 1, "enrolments.booked": 2,
                         "enrolments.waitlisted": 1},
        ENDING_TALLY + "2027-04": {f"starts.t{start}": 1, f"ends.t{end}": 1, f"free.t{end}": 3},
    }


def test_moving_a_session_moves_its_counts_between_months_and_an_overbooked_one_has_no_free_seat() -> None:
    before = AGGREGATE.contribution(session())
    after = AGGREGATE.contribution(session(ends_at=STARTS + timedelta(hours=1), seats_taken=6))
    moved = tallies.difference(before, after)
    assert moved[SESSIONS_TALLY] == {"ending_months.2027-04": -1, "ending_months.2027-03": 1}
    assert set(moved) == {SESSIONS_TALLY, ENDING_TALLY + "2027-03", ENDING_TALLY + "2027-04"}
    assert not any(path.startswith("free.") for path in after[ENDING_TALLY + "2027-03"])
