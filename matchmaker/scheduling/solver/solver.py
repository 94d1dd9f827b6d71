"""Solve meeting-schedule problems: greedy start, b-matching selection, CP-SAT slot model.

Objective, lexicographic: (0) place every required meeting, (1) fewest eligible participants
without a meeting (fairness), (2) highest total score, (3) fewest holes.

Pipeline
--------
1. Compile the problem (locks, frozen slots) and diagnose required meetings that cannot be placed.
2. Greedy schedule (with one-level ejection repair): always valid; the fallback and first hint.
   When it misses required meetings, CP-SAT places all of them first: a restarted search for a
   placement where every participant has no more holes than its lower bound (at B2B brokerage
   events, where every meeting is required, that is already the optimal schedule), else any
   placement (time-indexed feasibility model).
3. Selection: the degree-capped matching (b-matching) relaxation, solved lexicographically as a
   HiGHS MIP (no slots); its optimum bounds fairness and score. Its LP relaxation bounds the
   score of any schedule and is reported as ``lp_bound``.
4. Fit the selection into slots: greedy colouring with ejections; the few meetings it misses are
   fitted by re-slotting only their neighbourhood (small CP-SAT feasibility models, the rest
   fixed), then, if needed, a CP-SAT feasibility model over the whole selection. If every
   selected meeting fits, fairness and score are proven optimal without any optimisation over
   slots; otherwise the room left is filled greedily.
5. Small problems (up to ``FULL_MODEL_LIMIT`` meeting-slot pairs): the time-indexed CP-SAT model
   over all candidates solves the levels not yet proven.
6. Holes, for the chosen meetings (see :mod:`matchmaker.scheduling.solver.holes`): local moves, a
   per-participant lower bound, a restarted search for a schedule reaching it, then the direct
   hole-counting model (first/last slot, runs of busy slots) from the best schedule.
7. Tables are numbered per slot afterwards (they are interchangeable).

Holes are minimised for the selected meetings only: other selections with the same fairness and
score are not explored (ties in score are rare with real scores).

Determinism: every CP-SAT run has a fixed ``random_seed``; with several workers the runs use
``interleave_search`` (deterministic), and the two restarted searches that run side by side in
threads pick the lower-numbered search's result, whichever finishes first. So the same problem
and seed give the same schedule whenever no phase is cut by the wall clock. A phase cut by the
wall clock returns the best schedule found so far, which can differ between runs on a loaded
machine.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from matchmaker.scheduling.solver.bound import lp_score_bound, select_meetings
from matchmaker.scheduling.solver.check import count_holes
from matchmaker.scheduling.solver.cpsat import LevelOutcome, SlotModel, SolverSettings
from matchmaker.scheduling.solver.greedy import greedy_schedule
from matchmaker.scheduling.solver.holes import hole_lower_bounds, minimise_holes, reach_bounds
from matchmaker.scheduling.solver.instance import Instance, Lock, compile_instance
from matchmaker.scheduling.solver.problem import SCORE_SCALE, Problem

#: Above this many (meeting, slot) pairs the slot model only covers the selected meetings.
FULL_MODEL_LIMIT = 25_000

#: Seconds of the time limit kept back from the holes phase (CP-SAT stops a little late).
HOLES_RESERVE = 0.15


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
        LP relaxation of the degree-capped matching: bounds the score of any schedule.
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


def _key(inst: Instance, sol: Mapping[int, int]) -> tuple[int, int, int, int]:
    """Lexicographic cost of a schedule: required misses, fairness misses, -score, holes."""
    busy: dict[int, list[int]] = defaultdict(list)
    for i, s in sol.items():
        busy[inst.pa[i]].append(s)
        busy[inst.pb[i]].append(s)
    req_miss = sum(1 for i in inst.required_feasible() if i not in sol)
    fair = sum(1 for q in inst.eligible if q not in busy)
    score = sum(inst.weight[i] for i in sol)
    holes = sum(count_holes(v) for v in busy.values())
    return (req_miss, fair, -score, holes)


class _Clock:
    def __init__(self, limit: float) -> None:
        self.t0 = time.perf_counter()
        self.limit = limit

    def left(self) -> float:
        return self.limit - (time.perf_counter() - self.t0)

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def solve(
    problem: Problem | Mapping[str, Any],
    time_limit: float = 10.0,
    seed: int = 0,
    locked: Iterable[Lock | Mapping[str, Any] | tuple] = (),
    frozen_slots: Iterable[int] = (),
    workers: int = 2,
    deterministic: bool = True,
) -> Result:
    """Schedule meetings: required first, then fairness, score and fewest holes.

    Parameters
    ----------
    problem : Problem or mapping
        The problem, parsed or as its JSON form.
    time_limit : float
        Wall-clock seconds; the best schedule found so far is returned when it runs out (the
        greedy schedule if nothing better was found).
    seed : int
        CP-SAT random seed.
    locked : iterable
        Meetings to keep at their slot (and table when given): ``Lock``, mappings with
        ``id``/``slot``/``table`` or ``(id, slot[, table])`` tuples.
    frozen_slots : iterable of int
        Slots already over: nothing but locked meetings is placed there.
    workers : int
        CP-SAT threads.
    deterministic : bool
        Use CP-SAT's interleaved search with several workers (see the module docstring).

    Returns
    -------
    Result

    Raises
    ------
    InvalidLockError
        When the locked meetings break a hard constraint or clash.
    """
    clock = _Clock(time_limit)
    prob = Problem.coerce(problem)
    inst = compile_instance(prob, locked, frozen_slots)
    settings = SolverSettings(workers=workers, seed=seed, deterministic=deterministic)
    phases: list[LevelOutcome] = []

    best = greedy_schedule(inst)
    best_key = _key(inst, best)
    status = "greedy"
    soft = best_key[0] > 0
    required_placed: dict[int, int] = {}
    if soft:
        # The greedy missed required meetings: look for a placement of all of them first (a
        # feasibility problem CP-SAT solves fast); only if there is none do they become soft.
        core = sorted(set(inst.required_feasible()) | set(inst.locked))
        placed = _place_core(inst, core, settings, clock, phases)
        if placed is not None:
            required_placed = placed
            best = greedy_schedule(inst, start=placed)
            best_key = _key(inst, best)
            soft = best_key[0] > 0
    lp = lp_score_bound(inst)

    def consider(sol: Mapping[int, int] | None) -> bool:
        nonlocal best, best_key
        if sol is None:
            return False
        k = _key(inst, sol)
        if k < best_key:
            best, best_key = dict(sol), k
            return True
        return False

    # Selection relaxation: bounds per level, and the meetings to colour.
    sel_sol = dict.fromkeys(best, 1)
    sel_bound: dict[str, int] = {}
    chosen = select_meetings(
        inst, soft, max(0.05, 0.3 * clock.left()), fairness_zero=best_key[1] == 0
    )
    if chosen is not None:
        sel_sol = dict.fromkeys(chosen.meetings, 1)
        phases.append(
            LevelOutcome("select:milp", chosen.values["score"], 0, chosen.optimal, chosen.seconds)
        )
        if chosen.optimal:
            sel_bound = dict(chosen.values)
    selected = sorted(set(sel_sol) | set(inst.locked))
    # Start from the CP-SAT placement of the required meetings when there is one (they are all in
    # the selection, which then only adds meetings around them).
    colour = greedy_schedule(inst, subset=selected, place_all=True, start=required_placed)
    if len(colour) < len(selected) and clock.left() > 0.1:
        # The greedy colouring usually misses a handful: re-slot only their neighbourhood.
        t_col = time.perf_counter()
        repaired = _repair_fit(inst, selected, colour, settings, 0.15 * clock.left())
        phases.append(
            LevelOutcome(
                "slots:fit-repair",
                len(repaired or colour),
                len(selected),
                repaired is not None,
                time.perf_counter() - t_col,
            )
        )
        if repaired is not None:
            colour = repaired
    if len(colour) < len(selected) and clock.left() > 0.1:
        # Slots for exactly the selected meetings: a feasibility problem, far easier for CP-SAT
        # than optimising the score over slots.
        t_col = time.perf_counter()
        fit = SlotModel(inst, selected, settings, place_all=True)
        _verdict, placed = fit.find_feasible(max(0.05, 0.4 * clock.left()), colour)
        phases.append(
            LevelOutcome(
                "slots:fit-selection",
                len(placed or {}),
                len(selected),
                placed is not None,
                time.perf_counter() - t_col,
            )
        )
        if placed is not None:
            colour = placed
    consider(colour)
    if len(colour) < len(selected):
        # Some selected meetings did not fit: fill the room left with other candidates.
        consider(greedy_schedule(inst, start=colour))

    # Slot model: everything when small, the selection when large.
    cands = inst.candidates()
    n_x = sum(len(inst.dom[i]) for i in cands)
    full = n_x <= FULL_MODEL_LIMIT
    universe = cands if full else selected
    if not full and len(colour) == len(selected):
        hint = colour
    elif full:
        hint = best
    else:
        hint = colour
    hint_key = _key(inst, hint)
    slot_out: dict[str, LevelOutcome] = {}
    # On a large problem the slot model only sees the selection: worth building and searching
    # only when the whole optimal selection fits (otherwise the greedy schedules are kept).
    levels: list[str] = []
    has_score = any(inst.weight[i] for i in cands)
    if full or (sel_bound and len(colour) == len(selected)):
        model = SlotModel(inst, universe, settings, soft_required=soft)
        levels = _level_names(model)
    for name in levels:
        if name == "holes":
            continue
        value = _level_value(hint_key, name)
        if name in sel_bound and value == sel_bound[name]:
            # The hint reaches the relaxation's bound: optimal, no search needed.
            model.fix_level(name, value)
            phases.append(LevelOutcome(f"slots:{name}", value, sel_bound[name], True, 0.0))
            continue
        budget = max(0.05, 0.6 * clock.left())
        out, sol = model.solve_level(name, budget, hint)
        out.name = f"slots:{name}"
        phases.append(out)
        if sol is None:
            break
        slot_out[name] = out
        hint = sol
        status = "feasible"
        consider(sol)
    holes_opt = False
    if clock.left() > HOLES_RESERVE:
        # Phase 2: slots for the chosen meetings, fewest holes. Other selections with the same
        # fairness and score are not explored (ties in score are rare with real scores).
        # The required meetings were searched for with holes bounds already: when they are the
        # whole schedule, search on with other seeds.
        salt = int(set(best) == set(required_placed))
        ho = minimise_holes(
            inst, best, settings, max(0.05, clock.left() - HOLES_RESERVE), salt=salt
        )
        phases.extend(ho.phases)
        if ho.phases:
            status = "feasible"
        consider(ho.solution)
        holes_opt = ho.optimal and ho.holes == best_key[3]
    # Which levels are proven: the schedule meets the relaxation's bound, or the full slot
    # model proved the level (each only counts when all earlier levels are proven).
    proven = True
    fair_proven = False
    for name in ("required", "fairness", "score"):
        if name == "score":
            fair_proven = proven
        value = _level_value(best_key, name)
        if name == "required" and not soft:
            ok = value == 0
        elif (name == "fairness" and not inst.eligible) or (name == "score" and not has_score):
            ok = True
        else:
            out = slot_out.get(name)
            ok = (name in sel_bound and value == sel_bound[name]) or (
                full and out is not None and out.optimal and out.value == value
            )
        proven = proven and ok
    optimal = proven
    holes_opt = holes_opt and optimal
    if optimal:
        status = "optimal"
    score_bound = lp
    if optimal:
        score_bound = -best_key[2] / SCORE_SCALE
    elif fair_proven:
        extra = [sel_bound["score"] / SCORE_SCALE] if "score" in sel_bound else []
        if full and "score" in slot_out:
            extra.append(slot_out["score"].bound / SCORE_SCALE)
        score_bound = min([x for x in (lp, *extra) if x is not None], default=None)
    return _result(inst, best, clock, lp, score_bound, optimal, holes_opt, status, seed, phases)


def _repair_fit(
    inst: Instance,
    selected: list[int],
    colour: Mapping[int, int],
    settings: SolverSettings,
    time_limit: float,
) -> dict[int, int] | None:
    """Fit the selected meetings the greedy colouring missed by re-slotting their neighbourhood.

    The meetings of the missed meetings' participants (one hop) and of those meetings' other
    participants (two hops, then three) are freed; everything else stays where the greedy put
    it. Each neighbourhood is a small CP-SAT feasibility problem (the time-indexed model with the
    rest as background). Returns the full schedule, or ``None`` when no neighbourhood worked.
    """
    t0 = time.perf_counter()
    missing = [i for i in selected if i not in colour]
    by_person: dict[int, list[int]] = defaultdict(list)
    for i in colour:
        by_person[inst.pa[i]].append(i)
        by_person[inst.pb[i]].append(i)
    people = {q for i in missing for q in (inst.pa[i], inst.pb[i])}
    free: set[int] = set()
    for _hop in range(3):
        grown = {i for q in people for i in by_person[q] if i not in inst.locked}
        if grown <= free and free:
            break
        free |= grown
        people |= {q for i in free for q in (inst.pa[i], inst.pb[i])}
        if len(free) > len(colour) // 2:
            return None
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0.02:
            return None
        background = {i: s for i, s in colour.items() if i not in free}
        model = SlotModel(inst, [*free, *missing], settings, place_all=True, background=background)
        verdict, placed = model.find_feasible(left / 2, {i: colour[i] for i in free})
        if placed is not None and len(placed) == len(free) + len(missing):
            return {**background, **placed}
        if verdict == "UNKNOWN":
            return None
    return None


def _place_core(
    inst: Instance,
    core: list[int],
    settings: SolverSettings,
    clock: _Clock,
    phases: list[LevelOutcome],
) -> dict[int, int] | None:
    """Place every required (and locked) meeting, with as few holes as cheaply possible.

    First the restarted search for a placement where every participant has no more holes than
    its lower bound (when the required meetings are the whole problem, as at B2B brokerage
    events, that is the optimal schedule); then any placement (the time-indexed feasibility
    model). Returns ``None`` when neither finds one in time.
    """
    count: dict[int, int] = defaultdict(int)
    for i in core:
        count[inst.pa[i]] += 1
        count[inst.pb[i]] += 1
    # The search places every meeting and knows no caps: only when the caps allow them all.
    if all(c <= inst.cap[q] for q, c in count.items()):
        bounds = hole_lower_bounds(inst, core)
        budget = max(0.05, 0.3 * clock.left())
        placed, _lower, out = reach_bounds(inst, core, settings, budget, bounds, "required:target")
        phases.append(out)
        if placed is not None:
            return placed
    feas = SlotModel(inst, core, settings, place_all=True)
    t_feas = time.perf_counter()
    verdict, placed = feas.find_feasible(max(0.05, 0.25 * clock.left()))
    phases.append(
        LevelOutcome(
            "required:feasible",
            int(placed is not None),
            1,
            verdict != "UNKNOWN",
            time.perf_counter() - t_feas,
        )
    )
    return placed


def _level_value(key: tuple[int, int, int, int], name: str) -> int:
    """Return a level's value from a schedule key (score positive)."""
    return {"required": key[0], "fairness": key[1], "score": -key[2], "holes": key[3]}[name]


def _level_names(model: SlotModel) -> list[str]:
    order = ["required", "fairness", "score", "holes"]
    names = [n for n in order if n in model.levels]
    inst = model.inst
    if "score" in names and not any(inst.weight[i] for i in model.subset):
        names.remove("score")
    return names


def _result(
    inst: Instance,
    sol: Mapping[int, int],
    clock: _Clock,
    lp: float | None,
    score_bound: float | None,
    optimal: bool,
    holes_optimal: bool,
    status: str,
    seed: int,
    phases: list[LevelOutcome],
) -> Result:
    prob = inst.problem
    tables = assign_tables(inst, sol)
    meetings = [
        ScheduledMeeting(
            id=prob.meetings[i].id,
            a=prob.meetings[i].a,
            b=prob.meetings[i].b,
            slot=s,
            table=tables[i],
            score=prob.meetings[i].score,
        )
        for i, s in sorted(sol.items(), key=lambda kv: (kv[1], tables[kv[0]]))
    ]
    key = _key(inst, sol)
    issues = []
    for i, r in enumerate(inst.required):
        if not r or i in sol:
            continue
        m = prob.meetings[i]
        reason = inst.reasons.get(i)
        if reason is None:
            why = [inst.overload[q] for q in (inst.pa[i], inst.pb[i]) if q in inst.overload]
            reason = "; ".join(why) or (
                f"no slot left where {m.a} and {m.b} are both free, given their other required "
                "meetings, windows and the tables"
            )
        issues.append(RequiredIssue(m.id, m.a, m.b, reason))
    return Result(
        meetings=meetings,
        unscheduled=[m.id for i, m in enumerate(prob.meetings) if i not in sol],
        score=round(sum(prob.meetings[i].score for i in sol), 4),
        holes=key[3],
        fairness_misses=key[1],
        required_unplaced=issues,
        score_bound=None if score_bound is None else round(score_bound, 4),
        lp_bound=None if lp is None else round(lp, 4),
        optimal=optimal,
        holes_optimal=holes_optimal,
        status=status,
        seconds=clock.elapsed(),
        seed=seed,
        phases=[asdict(p) for p in phases],
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


def replan(
    problem: Problem | Mapping[str, Any],
    schedule: Mapping[str, Any] | Iterable[Mapping[str, Any]],
    from_slot: int,
    absent: Iterable[str] = (),
    locked: Iterable[Lock | Mapping[str, Any] | tuple] = (),
    **kwargs: Any,
) -> Result:
    """Re-plan the rest of the day: keep meetings before ``from_slot``, re-optimise the others.

    Parameters
    ----------
    problem : Problem or mapping
    schedule : mapping or iterable of mappings
        The current schedule (JSON form or its list of meetings).
    from_slot : int
        First slot that can still change; earlier slots are frozen with their meetings.
    absent : iterable of str
        Participants who left (no-shows): unavailable from ``from_slot`` on.
    locked : iterable
        Further meetings to keep (e.g. locked by the organiser) in the open slots.
    **kwargs
        Passed to :func:`solve`.

    Returns
    -------
    Result
    """
    prob = Problem.coerce(problem)
    entries = schedule.get("meetings", []) if isinstance(schedule, Mapping) else list(schedule)
    gone = set(absent)
    if gone:
        later = frozenset(range(from_slot, prob.slots + 1))
        prob = Problem(
            slots=prob.slots,
            tables=prob.tables,
            participants=[
                type(p)(p.id, p.max_meetings, p.unavailable | later, p.side) if p.id in gone else p
                for p in prob.participants
            ],
            meetings=prob.meetings,
            morning_slots=prob.morning_slots,
            fairness_threshold=prob.fairness_threshold,
        )
    past = [
        Lock(str(e["id"]), int(e["slot"]), e.get("table"))
        for e in entries
        if int(e["slot"]) < from_slot
    ]
    frozen = range(1, from_slot)
    return solve(prob, locked=[*past, *locked], frozen_slots=frozen, **kwargs)
