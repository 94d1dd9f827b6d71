"""Fewest holes for a fixed selection of meetings.

The meetings to hold are fixed; only their slots change. Three steps, cheapest first:

1. Single-meeting moves (local search), which scale to any size.
2. A lower bound per participant (:func:`hole_lower_bounds`): from the free slots its meetings
   may use, the fewest runs of busy slots that can hold them. A schedule reaching every
   participant's bound is optimal, so CP-SAT first looks for one as a pure feasibility problem
   (:func:`search_target`): integer slots with ``AllDifferent`` per participant, a cumulative
   table limit, each participant without a forced hole inside a window ``[lo, lo + k - 1]``
   and the others with counted runs of busy slots. Short randomised restarts (Luby) find such
   schedules far more reliably than one long run.
3. If there is none (or none found in time), the direct hole-counting model
   (:class:`HolesModel` in ``min`` mode): per participant first and last slot, runs of busy
   slots counted with "run start" literals, ``holes = runs - 1``, at least the participant's
   bound, at most its idle slots ``last - first + 1 - k``, and at least one when it has an idle
   slot. Solved from the best schedule as a hint.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

from matchmaker.scheduling.solver.check import count_holes
from matchmaker.scheduling.solver.cpsat import LevelOutcome, SlotModel, SolverSettings
from matchmaker.scheduling.solver.instance import Instance

#: Above this many meetings no whole-problem CP-SAT model runs (only the neighbourhood search).
INTERVAL_MODEL_LIMIT = 3000

#: Up to this many meetings the direct hole-counting model runs on the whole problem (beyond,
#: it makes no progress in the time left and the neighbourhood search gets all of it).
MIN_MODEL_LIMIT = 400

#: Share of the holes time for the search reaching every participant's bound, and share of
#: what is left then for the direct hole-counting model (the neighbourhood search gets the rest).
TARGET_SHARE = 0.25
MIN_SHARE = 0.85

#: Deterministic time (CP-SAT work units, about seconds) of the first restart of the searches.
RESTART_BASE = 0.5

#: Meetings freed by the first large-neighbourhood step, and CP-SAT deterministic time per
#: freed meeting. The size adapts: it grows while steps are solved to optimality and shrinks
#: when they run out of time.
LNS_SIZE = 20
LNS_WORK = 0.001
LNS_SIZES = (8, 400)


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
    lower_bound : int
        Proven lower bound on the holes of any schedule of these meetings.
    phases : list of LevelOutcome
    """

    solution: dict[int, int]
    holes: int
    optimal: bool
    phases: list[LevelOutcome]
    lower_bound: int = 0


def _incidence(inst: Instance, meetings: Iterable[int]) -> dict[int, list[int]]:
    inc: dict[int, list[int]] = defaultdict(list)
    for i in meetings:
        inc[inst.pa[i]].append(i)
        if inst.pb[i] != inst.pa[i]:
            inc[inst.pb[i]].append(i)
    return inc


def _fits_window(inst: Instance, ii: list[int], lo: int, hi: int) -> bool:
    """Whether meetings ``ii`` can take distinct slots of ``lo..hi`` (bipartite matching)."""
    owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for s in inst.dom[i]:
            if lo <= s <= hi and s not in seen:
                seen.add(s)
                if s not in owner or augment(owner[s], seen):
                    owner[s] = i
                    return True
        return False

    return all(augment(i, set()) for i in sorted(ii, key=lambda i: len(inst.dom[i])))


def participant_hole_bound(inst: Instance, ii: list[int]) -> int:
    """Return a lower bound on the holes of one participant whose meetings are ``ii``.

    The slots its meetings may use form maximal runs; ``k`` meetings need at least as many of
    the longest runs as it takes to hold ``k`` slots, and each further run is a hole. When that
    allows no hole, the bound is still 1 if no window of ``k`` consecutive slots can give every
    meeting a slot of its own (a meeting bound to the morning and one to the late afternoon).
    """
    k = len(ii)
    if k < 2:
        return 0
    avail = sorted(set().union(*(inst.dom[i] for i in ii)))
    runs: list[int] = []
    prev = None
    for s in avail:
        if prev is not None and s == prev + 1:
            runs[-1] += 1
        else:
            runs.append(1)
        prev = s
    held = used = 0
    for length in sorted(runs, reverse=True):
        held += length
        used += 1
        if held >= k:
            break
    bound = used - 1
    if bound == 0 and not any(
        _fits_window(inst, ii, lo, lo + k - 1) for lo in range(avail[0], avail[-1] - k + 2)
    ):
        bound = 1
    return bound


def hole_lower_bounds(inst: Instance, meetings: Iterable[int]) -> dict[int, int]:
    """Return each participant's lower bound on holes when all of ``meetings`` are held.

    Valid for every schedule of these meetings (tables, partners and precedence are ignored).
    """
    return {q: participant_hole_bound(inst, ii) for q, ii in _incidence(inst, meetings).items()}


class HolesModel:
    """CP-SAT model of slots for a fixed set of meetings, all placed.

    ``t[i]`` is the slot of meeting ``i``; per participant ``AllDifferent``; a cumulative
    constraint caps meetings per slot at ``tables``; precedence as ``t[j] < t[i]``. Caps per
    participant are not modelled: the set of meetings must already respect them.

    Parameters
    ----------
    inst : Instance
    meetings : list of int
    settings : SolverSettings
    bounds : dict of int to int, optional
        Per participant lower bound on holes (:func:`hole_lower_bounds`).
    mode : str
        ``target``: every participant has at most its bound of holes (a feasibility problem;
        participants with bound 0 have their meetings in ``[lo, lo + k - 1]``); ``place``: no
        hole constraint (a placement of all meetings); ``min``: minimise the total of holes.
    """

    def __init__(
        self,
        inst: Instance,
        meetings: list[int],
        settings: SolverSettings,
        bounds: Mapping[int, int] | None = None,
        mode: str = "min",
    ) -> None:
        self.inst = inst
        self.settings = settings
        self.mode = mode
        bounds = dict(bounds or {})
        m = self.model = cp_model.CpModel()
        n_slots = inst.n_slots
        self.t = {
            i: m.NewIntVarFromDomain(cp_model.Domain.FromValues(inst.dom[i]), f"t{i}")
            for i in meetings
        }
        ivs = [m.NewFixedSizeIntervalVar(v, 1, f"iv{i}") for i, v in self.t.items()]
        if len(ivs) > inst.n_tables:
            m.AddCumulative(ivs, [1] * len(ivs), inst.n_tables)
        for i in meetings:
            for j in inst.before[i]:
                if j in self.t:
                    m.Add(self.t[j] < self.t[i])
        self.x: dict[tuple[int, int], cp_model.IntVar] = {}
        self.inc = _incidence(inst, meetings)
        self.holes: dict[int, cp_model.IntVar] = {}
        self.first: dict[int, cp_model.IntVar] = {}
        self.last: dict[int, cp_model.IntVar] = {}
        self.start: dict[tuple[int, int], cp_model.IntVar] = {}
        self.busy: dict[tuple[int, int], cp_model.IntVar] = {}
        for q, ii in sorted(self.inc.items()):
            ts = [self.t[i] for i in ii]
            k = len(ii)
            if k > 1:
                m.AddAllDifferent(ts)
            if k < 2 or mode == "place":
                continue
            bound = bounds.get(q, 0)
            if mode == "target" and bound == 0:
                lo = m.NewIntVar(1, n_slots - k + 1, f"lo{q}")
                for v in ts:
                    m.Add(v >= lo)
                    m.Add(v <= lo + k - 1)
                continue
            runs = self._runs(q, ii)
            if mode == "target":
                m.Add(sum(runs) <= bound + 1)
                continue
            first = m.NewIntVar(1, n_slots, f"first{q}")
            last = m.NewIntVar(1, n_slots, f"last{q}")
            m.AddMinEquality(first, ts)
            m.AddMaxEquality(last, ts)
            self.first[q], self.last[q] = first, last
            h = m.NewIntVar(bound, max(bound, n_slots), f"h{q}")
            m.Add(h == sum(runs) - 1)
            # Holes never exceed the idle slots inside the span, and an idle slot makes one.
            m.Add(h <= last - first + 1 - k)
            m.Add(last - first + 1 - k <= n_slots * h)
            self.holes[q] = h
        self.objective = sum(self.holes.values())

    def _lit(self, i: int, s: int) -> cp_model.IntVar:
        """Return the literal ``t[i] == s``."""
        key = (i, s)
        if key not in self.x:
            b = self.model.NewBoolVar(f"x{i}_{s}")
            self.model.Add(self.t[i] == s).OnlyEnforceIf(b)
            self.model.Add(self.t[i] != s).OnlyEnforceIf(b.Not())
            self.x[key] = b
        return self.x[key]

    def _runs(self, q: int, ii: list[int]) -> list[cp_model.IntVar]:
        """Return "a run of busy slots starts at s" literals of participant ``q``."""
        m, inst = self.model, self.inst
        busy: list[cp_model.IntVar | int] = [0] * (inst.n_slots + 2)
        for s in range(1, inst.n_slots + 1):
            lits = [self._lit(i, s) for i in ii if s in inst.dom[i]]
            if len(lits) == 1:
                busy[s] = lits[0]
            elif lits:
                b = m.NewBoolVar(f"b{q}_{s}")
                m.Add(b == sum(lits))
                busy[s] = b
                self.busy[(q, s)] = b
        starts = []
        for s in range(1, inst.n_slots + 1):
            cur, prev = busy[s], busy[s - 1]
            if isinstance(cur, int):
                continue
            if isinstance(prev, int):
                starts.append(cur)
                continue
            st = m.NewBoolVar(f"st{q}_{s}")
            m.AddBoolOr([st, cur.Not(), prev])
            m.AddImplication(st, cur)
            m.AddImplication(st, prev.Not())
            self.start[(q, s)] = st
            starts.append(st)
        return starts

    def add_hint(self, hint: Mapping[int, int]) -> None:
        """Hint a schedule of the meetings (every auxiliary variable too)."""
        m = self.model
        m.ClearHints()
        busy: dict[int, set[int]] = defaultdict(set)
        for i, v in self.t.items():
            m.AddHint(v, hint[i])
            busy[self.inst.pa[i]].add(hint[i])
            busy[self.inst.pb[i]].add(hint[i])
        for (i, s), v in self.x.items():
            m.AddHint(v, int(hint[i] == s))
        for (q, s), v in self.busy.items():
            m.AddHint(v, int(s in busy[q]))
        for (q, s), v in self.start.items():
            m.AddHint(v, int(s in busy[q] and s - 1 not in busy[q]))
        for q, v in self.first.items():
            m.AddHint(v, min(busy[q]))
        for q, v in self.last.items():
            m.AddHint(v, max(busy[q]))
        for q, v in self.holes.items():
            m.AddHint(v, count_holes(busy[q]))

    def read(self, solver: cp_model.CpSolver) -> dict[int, int]:
        """Return the slot of each meeting in the solver's solution."""
        return {i: solver.Value(v) for i, v in self.t.items()}

    def minimise(
        self, time_limit: float, hint: Mapping[int, int], lower: int = 0
    ) -> tuple[LevelOutcome, dict[int, int] | None]:
        """Minimise the total of holes from ``hint``; ``lower`` is a known lower bound."""
        m = self.model
        if lower > 0:
            m.Add(self.objective >= lower)
        m.Minimize(self.objective)
        self.add_hint(hint)
        t0 = time.perf_counter()
        # The same work limit as seconds: reproducible whenever the wall clock does not cut it.
        solver = self.settings.make_solver(time_limit, det_limit=time_limit)
        # Interleaved workers exchange solutions and bounds after every chunk: measured several
        # times faster here than the default batches, and still deterministic.
        solver.parameters.interleave_batch_size = 1
        status = solver.Solve(m)
        secs = time.perf_counter() - t0
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return LevelOutcome("holes:min", -1, lower, False, secs), None
        out = LevelOutcome(
            "holes:min",
            round(solver.ObjectiveValue()),
            max(lower, round(solver.BestObjectiveBound())),
            status == cp_model.OPTIMAL,
            secs,
        )
        return out, self.read(solver)


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


def search_target(
    inst: Instance,
    meetings: list[int],
    settings: SolverSettings,
    time_limit: float,
    bounds: Mapping[int, int] | None,
    salt: int = 0,
) -> tuple[str, dict[int, int] | None, float]:
    """Place all ``meetings`` with at most ``bounds[q]`` holes per participant.

    With ``bounds=None`` any placement will do. A feasibility problem with strong propagation,
    but its search time is heavy-tailed: short single-worker runs with randomised branching and
    a Luby schedule of deterministic-time limits, each with its own seed derived from
    ``settings.seed``, find a solution far more reliably than one long run. With two or more
    workers two searches run side by side in threads (CP-SAT releases the GIL). The result is
    deterministic: the lower-numbered search wins, so a search that succeeds only stops the
    searches numbered after it, and restarts end on deterministic time (the wall clock only
    caps them). ``salt`` changes the seeds, so that a second search on the same meetings does
    not repeat the first.

    Returns
    -------
    str
        ``found``, ``infeasible`` (no such schedule exists) or ``unknown``.
    dict or None
        The schedule when found.
    float
        Seconds spent.
    """
    t0 = time.perf_counter()
    lanes = max(1, min(2, settings.workers))
    mode = "place" if bounds is None else "target"
    models = [HolesModel(inst, meetings, settings, bounds, mode) for _ in range(lanes)]
    attempt = 0
    while True:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0.05:
            return "unknown", None, time.perf_counter() - t0
        limit = RESTART_BASE * _luby(attempt // lanes)
        solvers = []
        for j in range(lanes):
            solver = cp_model.CpSolver()
            p = solver.parameters
            p.num_workers = 1
            p.random_seed = settings.seed * 7919 + salt * 1_000_003 + attempt + j
            p.max_deterministic_time = limit
            p.max_time_in_seconds = left
            p.search_branching = cp_model.RANDOMIZED_SEARCH
            solvers.append(solver)
        attempt += lanes
        results: list[tuple[int, dict[int, int] | None]] = [(cp_model.UNKNOWN, None)] * lanes
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


def reach_bounds(
    inst: Instance,
    meetings: list[int],
    settings: SolverSettings,
    time_limit: float,
    bounds: Mapping[int, int],
    name: str,
    salt: int = 0,
) -> tuple[dict[int, int] | None, int, LevelOutcome]:
    """Run :func:`search_target` with the participants' bounds and report it as a phase.

    Returns
    -------
    dict or None
        A schedule reaching every bound (optimal) when found.
    int
        The proven lower bound on holes: the sum of the bounds, plus one when the search proved
        that no schedule reaches them all.
    LevelOutcome
    """
    verdict, found, secs = search_target(inst, meetings, settings, time_limit, bounds, salt)
    lower = sum(bounds.values()) + (verdict == "infeasible")
    out = LevelOutcome(name, lower if found is not None else -1, lower, found is not None, secs)
    return found, lower, out


def _run_lane(
    k: int,
    solvers: list[cp_model.CpSolver],
    models: list[HolesModel],
    results: list[tuple[int, dict[int, int] | None]],
) -> None:
    """Run search ``k`` of :func:`search_target`; stop the later searches once it has a verdict.

    Earlier searches keep running (they win when they succeed within their own limit), except
    after a proof of infeasibility, which stops every search.
    """
    status = solvers[k].Solve(models[k].model)
    sol = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        sol = models[k].read(solvers[k])
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.INFEASIBLE):
        for j, other in enumerate(solvers):
            if j > k or status == cp_model.INFEASIBLE:
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


def lns_holes(
    inst: Instance,
    sol: Mapping[int, int],
    settings: SolverSettings,
    time_limit: float,
    lower: int = 0,
) -> tuple[dict[int, int], int, int]:
    """Large-neighbourhood search on holes: re-slot a neighbourhood, keep the rest.

    Each step frees a neighbourhood of meetings (its size adapts, see ``LNS_SIZE``): either
    those of a participant with a hole and of its partners, or those of two slots (so meetings
    can swap slots when the tables are full). The time-indexed model (:class:`SlotModel` with
    the rest as background) minimises the holes of the freed participants from the current
    schedule as a hint, on one worker with a deterministic-time limit and a seed per step; a
    schedule with no more holes replaces the current one (sideways moves let the search
    drift). Scales to any problem size: each step only sees its neighbourhood.

    Returns
    -------
    dict of int to int
        The best schedule.
    int
        Steps run.
    int
        Steps that removed holes.
    """
    t0 = time.perf_counter()
    rng = random.Random(settings.seed)  # noqa: S311 (a search order, not a secret)
    cur = dict(sol)
    # The meetings never change, only their slots: keep per participant and per slot indexes
    # and update them on each accepted step (a step costs its neighbourhood, not the problem).
    by_person = _incidence(inst, cur)
    by_slot: dict[int, set[int]] = defaultdict(set)
    for i, s in cur.items():
        by_slot[s].add(i)
    p_holes = {q: count_holes(cur[i] for i in ii) for q, ii in by_person.items()}
    cur_h = sum(p_holes.values())
    succ = inst.successors()
    one = SolverSettings(workers=1, seed=settings.seed, deterministic=True)
    steps = improved = 0
    size = LNS_SIZE
    while cur_h > lower:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0.05:
            break
        free: set[int] = set()
        if steps % 3 == 2 and len(by_slot) > 1:
            for s in rng.sample(sorted(by_slot), 2):
                ii = sorted(by_slot[s])
                free.update(rng.sample(ii, min(len(ii), size // 2)))
        else:
            queue = [rng.choice(sorted(q for q, h in p_holes.items() if h))]
            seen = set(queue)
            while queue and len(free) < size:
                q = queue.pop(0)
                mine = by_person[q]
                free.update(mine)
                partners = sorted({inst.pa[i] + inst.pb[i] - q for i in mine} - seen)
                rng.shuffle(partners)
                seen.update(partners)
                queue.extend(partners)
        free -= set(inst.locked)
        steps += 1
        if not free:
            continue
        people = {q for i in free for q in (inst.pa[i], inst.pb[i])}
        # Background: the other meetings of these people and precedence partners; every other
        # meeting only takes a table.
        background = {i: cur[i] for q in people for i in by_person[q] if i not in free}
        for i in free:
            for j in (*inst.before[i], *succ.get(i, ())):
                if j in cur and j not in free:
                    background[j] = cur[j]
        outside = {s: len(ii) for s, ii in by_slot.items()}
        for i in (*free, *background):
            outside[cur[i]] -= 1
        one.seed = settings.seed * 104729 + steps
        model = SlotModel(
            inst,
            sorted(free),
            one,
            place_all=True,
            background=background,
            outside_load=outside,
        )
        out, found = model.solve_level("holes", left, cur, det_limit=LNS_WORK * len(free))
        delta = 1
        if found is not None and len(found) == len(free):
            new_holes = {q: count_holes(found.get(i, cur[i]) for i in by_person[q]) for q in people}
            delta = sum(new_holes.values()) - sum(p_holes[q] for q in people)
        # Adaptive size: a neighbourhood proven to hold nothing better was too small, one not
        # solved in its work limit too large; one that removed holes was right.
        if delta >= 0 and out.optimal:
            size = min(LNS_SIZES[1], size + 1 + size // 10)
        elif not out.optimal:
            size = max(LNS_SIZES[0], size - 1 - size // 10)
        if delta > 0:
            continue
        improved += delta < 0
        cur_h += delta
        p_holes.update(new_holes)
        for i, s in found.items():
            by_slot[cur[i]].discard(i)
            by_slot[s].add(i)
            cur[i] = s
    return cur, steps, improved


def minimise_holes(
    inst: Instance,
    sol: Mapping[int, int],
    settings: SolverSettings,
    time_limit: float,
    salt: int = 0,
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
    salt : int
        Passed to :func:`search_target`: non-zero when the same meetings were searched before
        (with salt 0), so that the search does not repeat itself.

    Returns
    -------
    HolesOutcome
    """
    t0 = time.perf_counter()
    best = dict(sol)
    best_h = total_holes(inst, best)
    phases: list[LevelOutcome] = []
    if best_h == 0 or not best:
        return HolesOutcome(best, best_h, True, phases, 0)
    meetings = sorted(best)
    bounds = hole_lower_bounds(inst, meetings)
    lower = sum(bounds.values())
    t_ls = time.perf_counter()
    moved = local_search_holes(inst, best, 0.2 * time_limit)
    if total_holes(inst, moved) < best_h:
        best, best_h = moved, total_holes(inst, moved)
    phases.append(
        LevelOutcome("holes:local", best_h, lower, best_h <= lower, time.perf_counter() - t_ls)
    )
    if best_h <= lower:
        return HolesOutcome(best, best_h, True, phases, lower)
    if len(best) <= INTERVAL_MODEL_LIMIT:
        # Whole-problem search; above the limit CP-SAT does not even load a hint in time.
        left = time_limit - (time.perf_counter() - t0)
        found, lower, out = reach_bounds(
            inst, meetings, settings, TARGET_SHARE * left, bounds, "holes:target", salt=salt
        )
        phases.append(out)
        if found is not None:
            return HolesOutcome(found, total_holes(inst, found), True, phases, lower)
    # Small problems: the direct model gets most of the time (its interleaved portfolio, the
    # core-based worker above all, reaches schedules the restarted target search misses and
    # proves the optimum; it stops at the lower bound), then the neighbourhood search polishes
    # its result. Larger ones: only the neighbourhood search, which stops as soon as it reaches
    # the lower bound.
    whole = len(best) <= MIN_MODEL_LIMIT
    stages = ["min", "lns"] if whole else ["lns"]
    shares = {0: MIN_SHARE, 1: 1.0} if whole else {0: 1.0}
    for k, stage in enumerate(stages):
        left = time_limit - (time.perf_counter() - t0)
        if best_h <= lower or left <= 0.05:
            break
        budget = shares[k] * left
        if stage == "min":
            model = HolesModel(inst, meetings, settings, bounds, "min")
            out, found = model.minimise(budget, best, lower)
            lower = max(lower, out.bound)
        else:
            t_lns = time.perf_counter()
            found, steps, better = lns_holes(inst, best, settings, budget, lower)
            h = min(best_h, total_holes(inst, found))
            out = LevelOutcome(
                f"holes:lns({steps} steps, {better} better)",
                h,
                lower,
                h <= lower,
                time.perf_counter() - t_lns,
            )
        phases.append(out)
        if found is not None and total_holes(inst, found) <= best_h:
            best, best_h = found, total_holes(inst, found)
    return HolesOutcome(best, best_h, best_h <= lower, phases, lower)
