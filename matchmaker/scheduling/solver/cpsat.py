"""CP-SAT time-indexed slot model, solved one objective level at a time.

Both are solved lexicographically, one objective level at a time: after a level is solved its
value is added as a constraint and the next level starts from the best solution as a hint.
Tables never appear in the models: they are interchangeable, so only the meetings per slot are
counted and tables are numbered afterwards (this removes a huge symmetry).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

from matchmaker.scheduling.solver.instance import Instance

MIN, MAX = "min", "max"


@dataclass
class SolverSettings:
    """CP-SAT settings shared by every solve.

    Attributes
    ----------
    workers : int
        CP-SAT workers (threads).
    seed : int
        CP-SAT ``random_seed``.
    deterministic : bool
        With more than one worker, use ``interleave_search`` so that the search does not depend on
        thread timing.
    """

    workers: int = 2
    seed: int = 0
    deterministic: bool = True

    def make_solver(self, time_limit: float, det_limit: float | None = None) -> cp_model.CpSolver:
        """Return a solver with these settings, a wall-clock and optionally a work limit."""
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.num_workers = max(1, self.workers)
        p.random_seed = self.seed
        p.max_time_in_seconds = max(0.01, time_limit)
        if det_limit is not None:
            p.max_deterministic_time = det_limit
        if self.workers > 1 and self.deterministic:
            p.interleave_search = True
        return solver


@dataclass
class LevelOutcome:
    """Result of one lexicographic level.

    Attributes
    ----------
    name : str
    value : int
        Best value found (of the level's expression).
    bound : int
        Best proven bound (lower for ``min``, upper for ``max``).
    optimal : bool
        ``value`` is proven optimal.
    seconds : float
    """

    name: str
    value: int
    bound: int
    optimal: bool
    seconds: float


class _LexModel:
    """Shared machinery: levels, hints and solving."""

    def __init__(self, settings: SolverSettings) -> None:
        self.model = cp_model.CpModel()
        self.settings = settings
        self.levels: dict[str, tuple[cp_model.LinearExprT, str]] = {}
        self.outcomes: list[LevelOutcome] = []

    def _hint_values(self, solution: Mapping[int, int]) -> dict[cp_model.IntVar, int]:
        raise NotImplementedError

    def _read(self, solver: cp_model.CpSolver) -> dict[int, int]:
        raise NotImplementedError

    def solve_level(
        self,
        name: str,
        time_limit: float,
        hint: Mapping[int, int],
        det_limit: float | None = None,
    ) -> tuple[LevelOutcome, dict[int, int] | None]:
        """Optimise one level, then constrain it to the value found.

        Parameters
        ----------
        name : str
            A key of :attr:`levels`.
        time_limit : float
            Seconds.
        hint : mapping of int to int
            A feasible solution (meeting index to slot, or to 1 for the selection model).
        det_limit : float, optional
            CP-SAT deterministic-time limit (reproducible, unlike the wall clock).

        Returns
        -------
        LevelOutcome
        dict or None
            The best solution found, ``None`` if none (the level is then left unconstrained).
        """
        expr, sense = self.levels[name]
        t0 = time.perf_counter()
        m = self.model
        if sense == MIN:
            m.Minimize(expr)
        else:
            m.Maximize(expr)
        m.ClearHints()
        for var, val in self._hint_values(hint).items():
            m.AddHint(var, val)
        solver = self.settings.make_solver(time_limit, det_limit)
        status = solver.Solve(m)
        secs = time.perf_counter() - t0
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            out = LevelOutcome(name, 0, 0, False, secs)
            self.outcomes.append(out)
            return out, None
        value = round(solver.ObjectiveValue())
        bound = round(solver.BestObjectiveBound())
        optimal = status == cp_model.OPTIMAL
        self.fix_level(name, value)
        out = LevelOutcome(name, value, bound, optimal, secs)
        self.outcomes.append(out)
        return out, self._read(solver)

    def find_feasible(
        self, time_limit: float, hint: Mapping[int, int] | None = None
    ) -> tuple[str, dict[int, int] | None]:
        """Solve without objective; return the status name and a solution if one was found.

        With a hint the search runs on one worker: OR-Tools 9.15 aborts the process ("Check
        failed: heuristics.fixed_search != nullptr") when several workers get a hint for a model
        that turns out infeasible, and a feasibility problem may be infeasible.
        """
        self.model.ClearObjective()
        self.model.ClearHints()
        if hint:
            for var, val in self._hint_values(hint).items():
                self.model.AddHint(var, val)
        solver = self.settings.make_solver(time_limit)
        if hint:
            solver.parameters.num_workers = 1
            solver.parameters.interleave_search = False
        status = solver.Solve(self.model)
        found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        return solver.StatusName(status), self._read(solver) if found else None

    def fix_level(self, name: str, value: int) -> None:
        """Constrain a level to be at least as good as ``value``."""
        expr, sense = self.levels[name]
        if sense == MIN:
            self.model.Add(expr <= value)
        else:
            self.model.Add(expr >= value)


class SlotModel(_LexModel):
    """Time-indexed model: ``x[i, s]`` is true when meeting ``i`` takes place in slot ``s``.

    Levels (all linear expressions): ``required`` (unplaced required meetings, only when
    ``soft_required``), ``fairness`` (eligible participants without a meeting), ``score`` and
    ``holes``. Holes are counted per participant as runs of busy slots minus one:
    ``start[q, s] >= busy[q, s] and not busy[q, s - 1]``.

    Parameters
    ----------
    inst : Instance
    subset : iterable of int
        Meetings the model may place.
    settings : SolverSettings
    soft_required : bool
        Count unplaced required meetings as a level instead of forcing them.
    place_all : bool
        Every meeting of ``subset`` must be placed; only the holes level exists (phase 2 of the
        decomposition: slots for a fixed selection).
    background : mapping of int to int, optional
        Meetings fixed at these slots outside the model (used by large-neighbourhood search):
        they occupy their participants, tables and count in the holes.
    outside_load : mapping of int to int, optional
        Tables taken per slot by further fixed meetings that are not in ``background`` (they
        share no participant and no precedence with the model's meetings).
    """

    def __init__(
        self,
        inst: Instance,
        subset: Iterable[int],
        settings: SolverSettings,
        soft_required: bool = False,
        place_all: bool = False,
        background: Mapping[int, int] | None = None,
        outside_load: Mapping[int, int] | None = None,
    ) -> None:
        super().__init__(settings)
        self.inst = inst
        self.place_all = place_all
        bg = dict(background or {})
        m = self.model
        bg_busy: set[tuple[int, int]] = set()
        bg_load: dict[int, int] = defaultdict(int)
        bg_count: dict[int, int] = defaultdict(int)
        for i, s in bg.items():
            bg_busy.update(((inst.pa[i], s), (inst.pb[i], s)))
            bg_load[s] += 1
            bg_count[inst.pa[i]] += 1
            bg_count[inst.pb[i]] += 1
        self.bg_busy = bg_busy
        for s, n in (outside_load or {}).items():
            bg_load[s] += n
        after = inst.successors() if bg else {}
        self.subset = sorted(i for i in set(subset) if inst.dom[i] and i not in bg)
        self.x: dict[int, dict[int, cp_model.IntVar]] = {}
        per_ps: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
        per_s: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for i in self.subset:
            a, b = inst.pa[i], inst.pb[i]
            lo, hi = 0, inst.n_slots + 1
            for j in inst.before[i]:
                if j in bg:
                    lo = max(lo, bg[j])
            for k in after.get(i, ()):
                if k in bg:
                    hi = min(hi, bg[k])
            dom = [
                s
                for s in inst.dom[i]
                if lo < s < hi and (a, s) not in bg_busy and (b, s) not in bg_busy
            ]
            xi = {s: m.NewBoolVar(f"x{i}_{s}") for s in dom}
            self.x[i] = xi
            for s, v in xi.items():
                per_ps[(a, s)].append(v)
                per_ps[(b, s)].append(v)
                per_s[s].append(v)
            if i in inst.locked or place_all:
                m.AddExactlyOne(xi.values())
            elif len(xi) > 1:
                m.AddAtMostOne(xi.values())
        self.per_ps = per_ps
        for vs in per_ps.values():
            if len(vs) > 1:
                m.AddAtMostOne(vs)
        for s, vs in per_s.items():
            room = inst.n_tables - bg_load.get(s, 0)
            if len(vs) > room:
                m.Add(sum(vs) <= room)
        self.placed = {i: sum(self.x[i].values()) for i in self.subset}
        inc: dict[int, list[int]] = defaultdict(list)
        for i in self.subset:
            inc[inst.pa[i]].append(i)
            inc[inst.pb[i]].append(i)
        self.inc = inc
        for q, ii in inc.items():
            room = inst.cap[q] - bg_count.get(q, 0)
            if len(ii) > room:
                m.Add(sum(self.placed[i] for i in ii) <= room)
        inset = set(self.subset)
        for i in self.subset:
            for j in inst.before[i]:
                if j not in inset:
                    continue
                for s, v in self.x[i].items():
                    later = [w for t, w in self.x[j].items() if t >= s]
                    if later:
                        m.Add(v + sum(later) <= 1)
        req = [i for i in self.subset if inst.required[i] and i not in inst.reasons]
        forced = {q for (q, _s) in bg_busy}
        for i in inst.locked:
            forced.update((inst.pa[i], inst.pb[i]))
        self.has: dict[int, cp_model.IntVar] = {}
        if place_all:
            forced.update(inc)
            self._build_holes(forced)
            return
        if soft_required:
            self.levels["required"] = (len(req) - sum(self.placed[i] for i in req), MIN)
        else:
            for i in req:
                m.Add(self.placed[i] == 1)
            for i in req:
                forced.update((inst.pa[i], inst.pb[i]))
        for q in sorted(inst.eligible):
            if q in inc:
                self.has[q] = m.NewBoolVar(f"has{q}")
                m.Add(self.has[q] <= sum(self.placed[i] for i in inc[q]))
        if inst.eligible:
            self.levels["fairness"] = (len(inst.eligible) - sum(self.has.values()), MIN)
        self.levels["score"] = (
            sum(inst.weight[i] * v for i in self.subset for v in self.x[i].values()),
            MAX,
        )
        self._build_holes(forced)

    def _build_holes(self, forced: set[int]) -> None:
        """Add the holes level: runs of busy slots minus one per participant with a meeting."""
        inst, m = self.inst, self.model
        self.start: dict[tuple[int, int], cp_model.IntVar] = {}
        self.busy: dict[tuple[int, int], cp_model.IntVar] = {}
        self.any: dict[int, cp_model.IntVar] = {}
        runs: list[cp_model.LinearExprT] = []
        const = 0
        for q, ii in self.inc.items():
            if inst.cap[q] < 2:
                continue
            # busy[s]: 1 (background meeting), a variable, or 0.
            busy: list[cp_model.IntVar | int] = [0] * (inst.n_slots + 2)
            n_var = 0
            for s in range(1, inst.n_slots + 1):
                if (q, s) in self.bg_busy:
                    busy[s] = 1
                    continue
                vs = self.per_ps.get((q, s), [])
                if vs:
                    v = m.NewBoolVar(f"b{q}_{s}")
                    m.Add(v == sum(vs))
                    busy[s] = v
                    self.busy[(q, s)] = v
                    n_var += 1
            if n_var == 0:
                continue
            n_bg = sum(1 for s in range(1, inst.n_slots + 1) if _is_one(busy[s]))
            if n_var + n_bg < 2:
                continue
            starts: list[cp_model.IntVar | int] = []
            for s in range(1, inst.n_slots + 1):
                cur, prev = busy[s], busy[s - 1]
                if _is_zero(cur) or _is_one(prev):
                    continue
                if _is_one(cur) and _is_zero(prev):
                    starts.append(1)
                    continue
                st = m.NewBoolVar(f"st{q}_{s}")
                self.start[(q, s)] = st
                starts.append(st)
                if _is_one(cur):
                    m.AddBoolOr([st, prev])
                elif _is_zero(prev):
                    m.AddImplication(cur, st)
                else:
                    m.AddBoolOr([st, cur.Not(), prev])
            if self.place_all:
                m.Add(sum(b for b in busy[1:-1] if not _is_zero(b)) == n_bg + len(ii))
            if q in forced:
                const += 1
                if not any(_is_one(x) for x in starts):
                    m.AddBoolOr([x for x in starts if not _is_zero(x)])
            else:
                self.any[q] = m.NewBoolVar(f"any{q}")
                m.Add(self.any[q] <= sum(self.placed[i] for i in ii))
            runs.extend(starts)
        self.levels["holes"] = (sum(runs) - sum(self.any.values()) - const, MIN)

    def _hint_values(self, solution: Mapping[int, int]) -> dict[cp_model.IntVar, int]:
        inst = self.inst
        vals: dict[cp_model.IntVar, int] = {}
        busy: dict[int, set[int]] = defaultdict(set)
        for q, s in self.bg_busy:
            busy[q].add(s)
        for i in self.subset:
            s0 = solution.get(i)
            for s, v in self.x[i].items():
                vals[v] = int(s == s0)
            if s0 is not None and s0 in self.x[i]:
                busy[inst.pa[i]].add(s0)
                busy[inst.pb[i]].add(s0)
        for q, v in self.has.items():
            vals[v] = int(bool(busy[q]))
        for q, v in self.any.items():
            vals[v] = int(bool(busy[q]))
        for (q, s), v in self.start.items():
            vals[v] = int(s in busy[q] and s - 1 not in busy[q])
        for (q, s), v in self.busy.items():
            vals[v] = int(s in busy[q])
        return vals

    def _read(self, solver: cp_model.CpSolver) -> dict[int, int]:
        out = {}
        for i in self.subset:
            for s, v in self.x[i].items():
                if solver.Value(v):
                    out[i] = s
                    break
        return out


def _is_one(x: object) -> bool:
    return isinstance(x, int) and x == 1


def _is_zero(x: object) -> bool:
    return isinstance(x, int) and x == 0
