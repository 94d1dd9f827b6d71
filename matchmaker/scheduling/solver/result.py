"""What the solver returns: the schedule, what is known about its quality, and its tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from matchmaker.scheduling.solver.instance import Instance


@dataclass
class ScheduledMeeting:
    """One placed meeting."""

    id: str
    a: str
    b: str
    slot: int
    table: int
    score: float = 0.0


@dataclass
class RequiredIssue:
    """A required meeting that could not be placed, and why."""

    meeting_id: str
    a: str
    b: str
    reason: str


@dataclass
class Result:
    """A schedule and what is known about its quality.

    Attributes
    ----------
    meetings : list of ScheduledMeeting
        Placed meetings, by slot then table.
    unscheduled : list of str
        Ids of listed meetings that were not placed.
    score : float
        Total score of placed meetings (4 decimals).
    holes : int
        Maximal runs of free slots between two meetings of a participant, summed.
    fairness_misses : int
        Eligible participants (a candidate scoring at least the threshold) with no meeting.
    required_unplaced : list of RequiredIssue
        Required meetings that could not be placed, with the reason.
    score_bound : float or None
        Proven upper bound on the score at this fairness level (LP bound when fairness is not
        proven optimal).
    lp_bound : float or None
        Bound of the degree-capped matching relaxation on the score. When the greedy schedule
        placed every required meeting, of every schedule that places them all (the min-cost
        flow's optimum on two-sided events; else the LP, also with every eligible participant
        met when the greedy left nobody without); otherwise the LP's, of any schedule.
    optimal : bool
        Required placement, fairness and score are proven optimal (lexicographically).
    holes_optimal : bool
        Holes are also proven minimal for this selection of meetings (by the participants'
        lower bounds or CP-SAT's bound); other selections with the same fairness and score are
        not explored.
    status : str
        ``optimal``, ``feasible`` (CP-SAT improved or confirmed the schedule without full proof)
        or ``greedy`` (the constructive schedule, nothing better found in time).
    seconds : float
        Wall-clock time.
    seed : int
    phases : list of dict
        Per phase: name, value, bound, optimal, seconds.
    """

    meetings: list[ScheduledMeeting]
    unscheduled: list[str]
    score: float
    holes: int
    fairness_misses: int
    required_unplaced: list[RequiredIssue]
    score_bound: float | None
    lp_bound: float | None
    optimal: bool
    holes_optimal: bool
    status: str
    seconds: float
    seed: int
    phases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        """Relative gap between the score and its bound (0 when proven optimal)."""
        if self.score_bound is None or self.score_bound <= 0:
            return None
        return max(0.0, (self.score_bound - self.score) / self.score_bound)

    def to_dict(self) -> dict[str, Any]:
        """Return the schedule JSON (``meetings``, ``unscheduled``, ``stats``)."""
        return {
            "meetings": [
                {"id": m.id, "a": m.a, "b": m.b, "slot": m.slot, "table": m.table}
                for m in self.meetings
            ],
            "unscheduled": list(self.unscheduled),
            "required_unplaced": [asdict(r) for r in self.required_unplaced],
            "stats": {
                "score": self.score,
                "holes": self.holes,
                "fairness_misses": self.fairness_misses,
                "placed": len(self.meetings),
                "score_bound": self.score_bound,
                "lp_bound": self.lp_bound,
                "gap": self.gap,
                "optimal": self.optimal,
                "holes_optimal": self.holes_optimal,
                "status": self.status,
                "seconds": round(self.seconds, 3),
                "seed": self.seed,
                "phases": self.phases,
            },
        }

    def summary(self) -> str:
        """Return a one-line summary for logs and the CLI."""
        if self.optimal:
            quality = "proven optimal"
        elif self.score_bound is not None:
            gap = self.gap
            quality = f"bound {self.score_bound:.4f} gap {100 * (gap or 0):.2f}%"
        else:
            quality = "no bound"
        return (
            f"score {self.score:.4f} holes {self.holes}"
            f"{' (min)' if self.holes_optimal else ''} placed {len(self.meetings)} "
            f"unscheduled {len(self.unscheduled)} required_unplaced {len(self.required_unplaced)} "
            f"fairness_misses {self.fairness_misses} {quality} status {self.status} "
            f"time {self.seconds:.2f}s"
        )


def assign_tables(inst: Instance, sol: Mapping[int, int]) -> dict[int, int]:
    """Number tables 1..tables in each slot, keeping people seated where they sat before.

    Locked meetings keep their table. Others take the table one of their participants used in the
    previous slot when it is free, else the lowest free table.

    Parameters
    ----------
    inst : Instance
    sol : mapping of int to int
        Slot of each placed meeting.

    Returns
    -------
    dict of int to int
        Table of each placed meeting.
    """
    by_slot: dict[int, list[int]] = defaultdict(list)
    for i, s in sol.items():
        by_slot[s].append(i)
    table: dict[int, int] = {}
    seat: dict[int, tuple[int, int]] = {}  # participant -> (slot, table)
    for s in sorted(by_slot):
        used = set()
        for i in by_slot[s]:
            lk = inst.locked.get(i)
            if lk is not None and lk.table is not None:
                table[i] = lk.table
                used.add(lk.table)
        free_iter = (t for t in range(1, inst.n_tables + 1))
        for i in sorted(by_slot[s]):
            if i in table:
                continue
            choice = None
            for q in (inst.pa[i], inst.pb[i]):
                prev = seat.get(q)
                if prev and prev[0] == s - 1 and prev[1] not in used:
                    choice = prev[1]
                    break
            if choice is None:
                choice = next(t for t in free_iter if t not in used)
            table[i] = choice
            used.add(choice)
        for i in by_slot[s]:
            seat[inst.pa[i]] = (s, table[i])
            seat[inst.pb[i]] = (s, table[i])
    return table
