"""Fewest holes for a fixed selection of meetings.

The meetings to hold are fixed; only their slots change. The model puts each participant's
meetings in a window ``[lo, lo + k - 1 + idle]`` with integer slots, ``AllDifferent`` and a
cumulative table limit: CP-SAT propagates this far better than time-indexed booleans with
"run start" literals, whose linear relaxation is useless for holes.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

from matchmaker.scheduling.check import count_holes
from matchmaker.scheduling.cpsat import LevelOutcome, SolverSettings
from matchmaker.scheduling.instance import Instance

#: Above this many meetings only the local search runs.
INTERVAL_MODEL_LIMIT = 3000


def total_holes(inst: Instance, sol: Mapping[int, int]) -> int:
    """Count the holes of a schedule (meeting index to slot)."""
    busy: dict[int, list[int]] = defaultdict(list)
    for i, s in sol.items():
        busy[inst.pa[i]].append(s)
        busy[inst.pb[i]].append(s)
    return sum(count_holes(v) for v in busy.values())


@dataclass
class HolesOutcome:
    """Result of the holes phase.

    Attributes
    ----------
    solution : dict of int to int
    holes : int
    optimal : bool
        Proven minimal for this selection of meetings.
    phases : list of LevelOutcome
    lns_moves, lns_improvements : int
    """

    solution: dict[int, int]
    holes: int
    optimal: bool
    phases: list[LevelOutcome]
    lns_moves: int = 0
    lns_improvements: int = 0


class IntervalModel:
    """Slots as integers: each participant's meetings inside ``[lo, lo + k - 1 + idle]``.

    ``t[i]`` is the slot of meeting ``i``; per participant ``AllDifferent`` over its meetings;
    a cumulative constraint caps meetings per slot at ``tables``. With ``k`` meetings a
    participant spans at least ``k`` slots; ``idle`` counts the extra ones and ``hole`` is true
    when ``idle > 0``. Minimising the number of participants with a hole is a relaxation of the
    holes objective (a participant with a hole has at least one), so its bound is a valid lower
    bound on holes, and schedules reaching it are optimal. A second level minimises idle slots,
    which merges runs.

    Parameters
    ----------
    inst : Instance
    meetings : iterable of int
        The meetings to place (all of them are placed).
    settings : SolverSettings
    zero_holes : bool
        Forbid idle slots altogether (a pure feasibility problem).
    """

    def __init__(
        self,
        inst: Instance,
        meetings: list[int],
        settings: SolverSettings,
        zero_holes: bool = False,
    ) -> None:
        self.inst = inst
        self.settings = settings
        m = self.model = cp_model.CpModel()
        n_slots = inst.n_slots
        self.t = {
            i: m.NewIntVarFromDomain(cp_model.Domain.FromValues(inst.dom[i]), f"t{i}")
            for i in meetings
        }
        ivs = [m.NewFixedSizeIntervalVar(v, 1, f"iv{i}") for i, v in self.t.items()]
        m.AddCumulative(ivs, [1] * len(ivs), inst.n_tables)
        for i in meetings:
            for j in inst.before[i]:
                if j in self.t:
                    m.Add(self.t[j] < self.t[i])
        inc: dict[int, list[int]] = defaultdict(list)
        for i in meetings:
            inc[inst.pa[i]].append(i)
            inc[inst.pb[i]].append(i)
        self.lo: dict[int, cp_model.IntVar] = {}
        self.idle: dict[int, cp_model.IntVar] = {}
        self.hole: dict[int, cp_model.IntVar] = {}
        for q, ii in sorted(inc.items()):
            ts = [self.t[i] for i in ii]
            if len(ts) > 1:
                m.AddAllDifferent(ts)
            k = len(ii)
            if k < 2:
                continue
            lo = m.NewIntVar(1, n_slots - k + 1, f"lo{q}")
            self.lo[q] = lo
            slack = n_slots - k
            if slack == 0 or zero_holes:
                for v in ts:
                    m.Add(v >= lo)
                    m.Add(v <= lo + k - 1)
                continue
            idle = m.NewIntVar(0, slack, f"idle{q}")
            hole = m.NewBoolVar(f"hole{q}")
            m.Add(idle <= slack * hole)
            self.idle[q], self.hole[q] = idle, hole
            for v in ts:
                m.Add(v >= lo)
                m.Add(v <= lo + k - 1 + idle)
        self.inc = inc

    def add_single_gap(self) -> None:
        """Allow each participant one gap only, so that holes equal participants with a hole.

        The ``idle`` free slots of a participant then form one run ``[gap, gap + idle - 1]``
        inside its window; with the level fixed, solving ``holes`` again turns a schedule where
        some participant has two runs of free slots into one with exactly one.
        """
        m = self.model
        for q, idle in self.idle.items():
            gap = m.NewIntVar(1, self.inst.n_slots, f"gap{q}")
            for i in self.inc[q]:
                early = m.NewBoolVar(f"early{q}_{i}")
                m.Add(self.t[i] < gap).OnlyEnforceIf(early)
                m.Add(self.t[i] >= gap + idle).OnlyEnforceIf(early.Not())

    def solve(
        self, objective: str, time_limit: float, hint: Mapping[int, int]
    ) -> tuple[LevelOutcome, dict[int, int] | None]:
        """Minimise ``holes`` (participants with a hole) or ``idle`` slots; keep the value."""
        m = self.model
        expr = sum(self.hole.values()) if objective == "holes" else sum(self.idle.values())
        m.Minimize(expr)
        m.ClearHints()
        busy: dict[int, list[int]] = defaultdict(list)
        for i, v in self.t.items():
            m.AddHint(v, hint[i])
        for q, ii in self.inc.items():
            busy[q] = [hint[i] for i in ii]
        for q, lo in self.lo.items():
            m.AddHint(lo, min(busy[q]))
        for q, idle in self.idle.items():
            span = max(busy[q]) - min(busy[q]) + 1 - len(busy[q])
            m.AddHint(idle, span)
            m.AddHint(self.hole[q], int(span > 0))
        t0 = time.perf_counter()
        solver = self.settings.make_solver(time_limit)
        status = solver.Solve(m)
        secs = time.perf_counter() - t0
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return LevelOutcome(f"interval:{objective}", -1, 0, False, secs), None
        value = round(solver.ObjectiveValue())
        m.Add(expr <= value)
        out = LevelOutcome(
            f"interval:{objective}",
            value,
            round(solver.BestObjectiveBound()),
            status == cp_model.OPTIMAL,
            secs,
        )
        return out, {i: solver.Value(v) for i, v in self.t.items()}


def _luby(k: int) -> int:
    """Return the k-th term (0-based) of the Luby restart sequence 1, 1, 2, 1, 1, 2, 4, ..."""
    k += 1
    size, seq = 1, 0
    while size < k + 1:
        seq += 1
        size = 2 * size + 1
    while size - 1 != k:
        size = (size - 1) // 2
        seq -= 1
        k %= size
    return 2**seq


def find_zero_holes(
    inst: Instance, meetings: list[int], settings: SolverSettings, time_limit: float
) -> tuple[str, dict[int, int] | None, float]:
    """Look for a schedule without holes with restarted randomised searches.

    A zero-hole schedule is a feasibility problem with strong propagation, but the search time is
    heavy-tailed: short single-worker runs with randomised branching and a Luby schedule of time
    limits, each with its own seed derived from ``settings.seed``, find one far more reliably than
    one long run. With two or more workers two searches run side by side in threads (CP-SAT
    releases the GIL); the first to succeed stops the other.

    Returns
    -------
    str
        ``found``, ``infeasible`` (no zero-hole schedule exists) or ``unknown``.
    dict or None
        The schedule when found.
    float
        Seconds spent.
    """
    t0 = time.perf_counter()
    lanes = max(1, min(2, settings.workers))
    base = 0.5
    attempt = 0
    while True:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0.05:
            return "unknown", None, time.perf_counter() - t0
        limit = min(left, base * _luby(attempt // lanes))
        seeds = [settings.seed * 7919 + attempt + j for j in range(lanes)]
        attempt += lanes
        results: list[tuple[int, dict[int, int] | None]] = [(0, None)] * lanes
        solvers = []
        models = []
        for seed in seeds:
            model = IntervalModel(inst, meetings, settings, zero_holes=True)
            solver = cp_model.CpSolver()
            p = solver.parameters
            p.num_workers = 1
            p.random_seed = seed
            # Restarts end on deterministic time (reproducible), the wall clock only caps them.
            p.max_deterministic_time = limit
            p.max_time_in_seconds = left
            p.search_branching = cp_model.RANDOMIZED_SEARCH
            solvers.append(solver)
            models.append(model)

        if lanes == 1:
            _run_lane(0, solvers, models, results)
        else:
            threads = [
                threading.Thread(target=_run_lane, args=(k, solvers, models, results))
                for k in range(lanes)
            ]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
        for _status, sol in results:
            if sol is not None:
                return "found", sol, time.perf_counter() - t0
        if any(status == cp_model.INFEASIBLE for status, _ in results):
            return "infeasible", None, time.perf_counter() - t0


def _run_lane(
    k: int,
    solvers: list[cp_model.CpSolver],
    models: list[IntervalModel],
    results: list[tuple[int, dict[int, int] | None]],
) -> None:
    """Run search ``k`` of :func:`find_zero_holes`; stop the others once it has a verdict."""
    status = solvers[k].Solve(models[k].model)
    sol = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        sol = {i: solvers[k].Value(v) for i, v in models[k].t.items()}
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.INFEASIBLE):
        for other in solvers:
            if other is not solvers[k]:
                other.StopSearch()
    results[k] = (status, sol)


def local_search_holes(inst: Instance, sol: Mapping[int, int], time_limit: float) -> dict[int, int]:
    """Move single meetings to other free slots while that removes holes (first improvement).

    Cheap and scale-independent: used before CP-SAT, and alone on large problems.

    Parameters
    ----------
    inst : Instance
    sol : mapping of int to int
    time_limit : float

    Returns
    -------
    dict of int to int
        A schedule with the same meetings and no more holes.
    """
    t0 = time.perf_counter()
    cur = dict(sol)
    busy: dict[int, set[int]] = defaultdict(set)
    load: dict[int, int] = defaultdict(int)
    for i, s in cur.items():
        busy[inst.pa[i]].add(s)
        busy[inst.pb[i]].add(s)
        load[s] += 1
    has_after = set()
    for i, bs in enumerate(inst.before):
        if bs:
            has_after.add(i)
            has_after.update(bs)
    movable = sorted(i for i in cur if i not in inst.locked and i not in has_after)
    improved = True
    while improved and time.perf_counter() - t0 < time_limit:
        improved = False
        for i in movable:
            s = cur[i]
            a, b = inst.pa[i], inst.pb[i]
            ba, bb = busy[a], busy[b]
            h_now = count_holes(ba) + count_holes(bb)
            if h_now == 0:
                continue
            ba.discard(s)
            bb.discard(s)
            best_t, best_h = s, h_now
            for t in inst.dom[i]:
                if t == s or t in ba or t in bb or load[t] >= inst.n_tables:
                    continue
                h = count_holes([*ba, t]) + count_holes([*bb, t])
                if h < best_h:
                    best_t, best_h = t, h
            ba.add(best_t)
            bb.add(best_t)
            if best_t != s:
                load[s] -= 1
                load[best_t] += 1
                cur[i] = best_t
                improved = True
    return cur


def minimise_holes(
    inst: Instance,
    sol: Mapping[int, int],
    settings: SolverSettings,
    time_limit: float,
) -> HolesOutcome:
    """Re-slot the meetings of ``sol`` to have as few holes as possible.

    Parameters
    ----------
    inst : Instance
    sol : mapping of int to int
        A valid schedule; its meetings stay selected, locked ones stay put.
    settings : SolverSettings
    time_limit : float
        Seconds for the whole phase.

    Returns
    -------
    HolesOutcome
    """
    t0 = time.perf_counter()
    best = dict(sol)
    best_h = total_holes(inst, best)
    phases: list[LevelOutcome] = []
    if best_h == 0 or not best:
        return HolesOutcome(best, best_h, True, phases)
    t_ls = time.perf_counter()
    moved = local_search_holes(inst, best, 0.3 * time_limit)
    if total_holes(inst, moved) < best_h:
        best, best_h = moved, total_holes(inst, moved)
    phases.append(LevelOutcome("local:holes", best_h, 0, False, time.perf_counter() - t_ls))
    if best_h == 0:
        return HolesOutcome(best, 0, True, phases)
    if len(best) > INTERVAL_MODEL_LIMIT:
        # CP-SAT does not even load a hint for thousands of meetings in the time left.
        return HolesOutcome(best, best_h, False, phases)
    left = time_limit - (time.perf_counter() - t0)
    verdict, zero, secs = find_zero_holes(inst, sorted(best), settings, 0.6 * left)
    phases.append(
        LevelOutcome(
            "interval:zero",
            0 if zero else -1,
            1 if verdict == "infeasible" else 0,
            zero is not None,
            secs,
        )
    )
    if zero is not None:
        return HolesOutcome(zero, total_holes(inst, zero), True, phases)
    model = IntervalModel(inst, sorted(best), settings)
    left = time_limit - (time.perf_counter() - t0)
    # Most of the time goes to this level: it stops early when proven, and only then does a
    # schedule with a participant having two gaps need the single-gap pass below.
    out, found = model.solve("holes", max(0.05, 0.95 * left), best)
    phases.append(out)
    lower = max(1 if verdict == "infeasible" else 0, out.bound)
    if found is not None:
        # Single-meeting moves often merge the runs of participants the model left with a hole.
        found = local_search_holes(inst, found, 0.05 * time_limit)
    if found is not None and total_holes(inst, found) <= best_h:
        best, best_h = found, total_holes(inst, found)
    left = time_limit - (time.perf_counter() - t0)
    if found is not None and out.optimal and best_h > lower and left > 0.05:
        model.add_single_gap()
        out2, found2 = model.solve("holes", left, best)
        phases.append(out2)
        if found2 is not None:
            found2 = local_search_holes(inst, found2, 0.05 * time_limit)
        if found2 is not None and total_holes(inst, found2) <= best_h:
            best, best_h = found2, total_holes(inst, found2)
    return HolesOutcome(best, best_h, best_h <= lower, phases)
