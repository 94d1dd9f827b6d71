"""The CP-SAT model of a schedule: which meeting takes place in which slot, and the holes it leaves.

(Over 500 lines: the encoding below and the code that builds, hints and solves it are one
piece, read together.) The encoding follows the SAT/MaxSAT models of Bofill et al.
("Constraint solving approaches to the business-to-business meeting scheduling problem",
JAIR 2022), written for CP-SAT.

Variables and constraints
-------------------------
``x[i, s]``
    Meeting ``i`` takes place in slot ``s``; only slots its window, fixed slot, both sides'
    availability, frozen slots and locks allow exist. Exactly one per meeting that must be placed
    (required, locked, or every meeting of a fixed selection), at most one otherwise. Precedence:
    ``x[i, s] + sum(x[j, t] for t >= s) <= 1`` when ``j`` must come before ``i``.
``busy[q, s]``
    Participant ``q`` meets in slot ``s``: ``busy[q, s] = sum of its meetings' x[., s]`` (so at
    most one meeting per participant and slot).
Tables
    Interchangeable: only ``sum(x[., s]) <= tables`` per slot. Tables are numbered after solving
    (:func:`~matchmaker.scheduling.solver.result.assign_tables`), which removes the table symmetry
    altogether.
Implied constraints (a fixed selection)
    ``sum_s busy[q, s] = k_q`` (each participant meets exactly as often as it has meetings) and
    ``sum_q busy[q, s] <= 2 * tables`` (two participants per table).

Holes
-----
``later[q, s]``
    ``q`` meets in slot ``s`` or after: ``later[q, s] = busy[q, s] or later[q, s + 1]``.
``hole[q, s]``
    A hole of ``q`` starts in slot ``s``: ``hole[q, s] = busy[q, s - 1] and not busy[q, s] and
    later[q, s + 1]`` (both directions, so the literal is exact). A hole is a maximal run of free
    slots between two meetings; it has exactly one first slot, so the holes are a sum of Booleans,
    the form CP-SAT's core-based search and its MaxSAT-like reasoning work on best.
Lower bounds
    For a fixed selection each participant's holes are at least
    :func:`participant_hole_bound` (from the runs of slots its meetings may use, and whether one
    block of ``k`` consecutive slots can hold them all), added as ``sum_s hole[q, s] >= bound``.
Target form (``target``)
    Every participant at its bound. A participant at a bound of zero meets in one block:
    ``block[q, lo]``, exactly one among the blocks of ``k_q`` consecutive slots it can make, and
    ``busy[q, s] = sum(block[q, lo] for the blocks covering s)``. Blocks propagate far better than
    hole literals: a schedule at the bound is found (or refuted) in about a unit of deterministic
    time on the real B2B events, with one worker and no LP relaxation. When it is refuted, the
    sum of the bounds plus one is a proven lower bound.
One hole more
    Each participant's shape at the bound is switched by a literal ``at_bound[q]``; off its
    shape it may have at most one hole more than its bound. When the target is refuted, some
    participant has a hole above its bound. :meth:`SlotModel.relax_only` lets one participant
    at a time (the pipeline tries first those with the most holes above their bound in the best
    schedule so far) leave its shape while every other keeps it fixed (a fixed literal, not an
    assumption, so that CP-SAT's presolve and probing see the block form of everybody else:
    they refute most of these problems in a few hundredths of a unit, where a search with the
    literals as assumptions finds neither a core nor a schedule). The first schedule found has
    the bound plus one hole, which is optimal; when every participant is refuted, the bound
    plus two is a proven lower bound.

Symmetry
--------
Tables carry none (above). Slots are not interchangeable (the holes objective depends on their
order); reading the day backwards keeps every hole, but breaking that symmetry (one meeting kept
in the first half of the day where no window tells morning from afternoon) changed nothing on
the TIC and forumt instances where it applies, so the model leaves symmetry to CP-SAT's presolve,
which finds orbits of interchangeable participants itself.
"""

from __future__ import annotations

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

    def make_solver(
        self, work: float, seconds: float, workers: int | None = None, lp: bool = True
    ) -> cp_model.CpSolver:
        """Return a solver stopped by ``work`` (deterministic time) or ``seconds`` (wall clock)."""
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.num_workers = max(1, self.workers if workers is None else workers)
        p.random_seed = self.seed
        p.max_deterministic_time = max(0.01, work)
        p.max_time_in_seconds = max(0.01, seconds)
        if not lp:
            p.linearization_level = 0
        if p.num_workers > 1 and self.deterministic:
            p.interleave_search = True
        return solver


@dataclass
class Outcome:
    """What one CP-SAT run found.

    Attributes
    ----------
    status : str
        CP-SAT status name (``OPTIMAL``, ``FEASIBLE``, ``INFEASIBLE``, ``UNKNOWN``).
    value, bound : int or None
        Objective value found and proven bound (``None`` without objective or solution).
    solution : dict or None
        Slot of each placed meeting.
    work : float
        Deterministic time spent.
    """

    status: str
    value: int | None
    bound: int | None
    solution: dict[int, int] | None
    work: float


@dataclass
class LevelOutcome:
    """What one phase achieved.

    Attributes
    ----------
    name : str
    value : int
        Best value found (of the phase's measure).
    bound : int
        Best proven bound (lower for ``min``, upper for ``max``).
    optimal : bool
        ``value`` is proven optimal.
    seconds : float
    work : float
        CP-SAT deterministic time spent.
    """

    name: str
    value: int
    bound: int
    optimal: bool
    seconds: float
    work: float = 0.0


# -- lower bounds on holes ---------------------------------------------------------------------


def _runs(slots: Iterable[int]) -> list[tuple[int, int]]:
    """Return the maximal runs ``(first, last)`` of consecutive slots."""
    out: list[tuple[int, int]] = []
    for s in sorted(slots):
        if out and s == out[-1][1] + 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


def _fits_window(inst: Instance, ii: list[int], lo: int, hi: int) -> bool:
    """Tell whether meetings ``ii`` can take distinct slots of ``lo..hi`` (bipartite matching)."""
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

    The slots its meetings may use form maximal runs; ``k`` meetings need at least as many of the
    longest runs as it takes to hold ``k`` slots, and each further run is a hole. When that allows
    no hole, the bound is still 1 if no block of ``k`` consecutive slots gives every meeting a slot
    of its own (a meeting bound to the morning and one to the late afternoon).
    """
    k = len(ii)
    if k < 2:
        return 0
    avail = set().union(*(inst.dom[i] for i in ii))
    held = used = 0
    for length in sorted((b - a + 1 for a, b in _runs(avail)), reverse=True):
        held += length
        used += 1
        if held >= k:
            break
    if used > 1:
        return used - 1
    return int(not any(_fits_window(inst, ii, lo, lo + k - 1) for lo in _block_starts(avail, k)))


def _block_starts(avail: set[int], k: int) -> list[int]:
    """Return the first slots of the blocks of ``k`` consecutive slots inside ``avail``."""
    return [a + d for a, b in _runs(avail) for d in range(b - a - k + 2)]


def incidence(inst: Instance, meetings: Iterable[int]) -> dict[int, list[int]]:
    """Map each participant to its meetings among ``meetings``."""
    inc: dict[int, list[int]] = defaultdict(list)
    for i in meetings:
        inc[inst.pa[i]].append(i)
        if inst.pb[i] != inst.pa[i]:
            inc[inst.pb[i]].append(i)
    return inc


def hole_lower_bounds(inst: Instance, meetings: Iterable[int]) -> dict[int, int]:
    """Return each participant's lower bound on holes when all of ``meetings`` are held.

    Valid for every schedule of these meetings (tables, partners and precedence are ignored).
    """
    return {q: participant_hole_bound(inst, ii) for q, ii in incidence(inst, meetings).items()}


# -- the model ---------------------------------------------------------------------------------


class SlotModel:
    """Time-indexed CP-SAT model: ``x[i, s]`` is true when meeting ``i`` takes place in slot ``s``.

    Levels (linear expressions to optimise one after the other): ``required`` (unplaced required
    meetings, only with ``soft_required``), ``fairness`` (eligible participants without a
    meeting), ``score`` and ``holes``.

    Parameters
    ----------
    inst : Instance
    meetings : iterable of int
        Meetings the model may place.
    settings : SolverSettings
    place_all : bool
        Every meeting of ``meetings`` is placed: slots for a fixed selection. Only the ``holes``
        level exists; each participant's hole lower bound is a constraint.
    soft_required : bool
        Count unplaced required meetings as a level instead of forcing them.
    target : bool or None
        With ``place_all``: every participant has at most its lower bound of holes (a feasibility
        problem; participants at zero meet in one block). ``True``: the ``at_bound`` literals
        are fixed by :meth:`relax_only` (a participant off its shape: one hole more at most).
    background : mapping of int to int, optional
        Meetings kept at these slots outside the model (a neighbourhood search frees only the
        others): they occupy their participants, tables, caps and precede as they are.
    holes : bool
        Build the ``holes`` level (placement alone needs none).
    """

    def __init__(
        self,
        inst: Instance,
        meetings: Iterable[int],
        settings: SolverSettings,
        place_all: bool = False,
        soft_required: bool = False,
        target: bool | None = None,
        background: Mapping[int, int] | None = None,
        holes: bool = True,
    ) -> None:
        self.inst = inst
        self.settings = settings
        self.model = m = cp_model.CpModel()
        self.levels: dict[str, tuple[cp_model.LinearExprT, str]] = {}
        bg = dict(background or {})
        self.meetings = sorted(i for i in set(meetings) if inst.dom[i] and i not in bg)
        self.x: dict[int, dict[int, cp_model.IntVar]] = {}
        lits: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
        per_slot: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        taken = {(q, s) for i, s in bg.items() for q in (inst.pa[i], inst.pb[i])}
        load: dict[int, int] = defaultdict(int)
        count: dict[int, int] = defaultdict(int)
        for i, s in bg.items():
            load[s] += 1
            count[inst.pa[i]] += 1
            count[inst.pb[i]] += 1
        after = inst.successors() if bg else {}
        for i in self.meetings:
            lo = max((bg[j] for j in inst.before[i] if j in bg), default=0)
            hi = min((bg[k] for k in after.get(i, ()) if k in bg), default=inst.n_slots + 1)
            dom = [
                s
                for s in inst.dom[i]
                if lo < s < hi and (inst.pa[i], s) not in taken and (inst.pb[i], s) not in taken
            ]
            xi = {s: m.NewBoolVar(f"x{i}_{s}") for s in dom}
            self.x[i] = xi
            for s, v in xi.items():
                lits[(inst.pa[i], s)].append(v)
                lits[(inst.pb[i], s)].append(v)
                per_slot[s].append(v)
            forced = place_all or i in inst.locked or (inst.required[i] and not soft_required)
            if forced:
                m.AddExactlyOne(xi.values())
            elif len(xi) > 1:
                m.AddAtMostOne(xi.values())
        for s, vs in per_slot.items():
            if len(vs) > inst.n_tables - load[s]:
                m.Add(sum(vs) <= inst.n_tables - load[s])
        self.placed = {i: sum(self.x[i].values()) for i in self.meetings}
        self.inc = incidence(inst, self.meetings)
        # busy[q][s]: the participant meets in slot s (at most one of its meetings there).
        self.busy: dict[int, dict[int, cp_model.IntVar]] = {}
        self.busy_aux: dict[tuple[int, int], cp_model.IntVar] = {}
        for q in self.inc:
            row = {}
            for s in range(1, inst.n_slots + 1):
                vs = lits.get((q, s))
                if vs and len(vs) == 1:
                    row[s] = vs[0]
                elif vs:
                    row[s] = self.busy_aux[(q, s)] = m.NewBoolVar(f"busy{q}_{s}")
                    m.Add(sum(vs) == row[s])
            self.busy[q] = row
            if len(self.inc[q]) > inst.cap[q] - count[q]:
                m.Add(sum(self.placed[i] for i in self.inc[q]) <= inst.cap[q] - count[q])
        self._precedence()
        self.bounds = hole_lower_bounds(inst, self.meetings) if place_all and holes else {}
        if place_all:
            # Implied: each participant meets exactly as often as it has meetings, and a slot
            # holds at most two participants per table.
            for q, row in self.busy.items():
                m.Add(sum(row.values()) == len(self.inc[q]))
            for s in range(1, inst.n_slots + 1):
                col = [row[s] for row in self.busy.values() if s in row]
                if len(col) > 2 * inst.n_tables:
                    m.Add(sum(col) <= 2 * inst.n_tables)
        else:
            self._objective_levels(soft_required)
        self.later: dict[tuple[int, int], cp_model.IntVar] = {}
        self.start: dict[tuple[int, int], cp_model.IntVar] = {}
        self.block: dict[tuple[int, int], cp_model.IntVar] = {}
        self.at_bound: dict[int, cp_model.IntVar] = {}
        self.hole_lits: dict[int, list[cp_model.IntVar]] = {}
        holes = [self._holes(q, target) for q in sorted(self.busy)] if holes else []
        self.levels["holes"] = (sum(h for hs in holes for h in hs), MIN)

    def _precedence(self) -> None:
        """Meeting ``j`` in ``before[i]`` takes place in an earlier slot than ``i``."""
        inst, m = self.inst, self.model
        for i in self.meetings:
            for j in inst.before[i]:
                if j not in self.x:
                    continue
                for s, v in self.x[i].items():
                    later = [w for t, w in self.x[j].items() if t >= s]
                    if later:
                        m.Add(v + sum(later) <= 1)

    def _objective_levels(self, soft_required: bool) -> None:
        """Add the ``required``, ``fairness`` and ``score`` levels."""
        inst, m = self.inst, self.model
        req = [i for i in self.meetings if inst.required[i] and i not in inst.reasons]
        if soft_required:
            self.levels["required"] = (len(req) - sum(self.placed[i] for i in req), MIN)
        self.has: dict[int, cp_model.IntVar] = {}
        for q in sorted(inst.eligible):
            if q in self.inc:
                self.has[q] = m.NewBoolVar(f"has{q}")
                m.Add(self.has[q] <= sum(self.placed[i] for i in self.inc[q]))
        if inst.eligible:
            self.levels["fairness"] = (len(inst.eligible) - sum(self.has.values()), MIN)
        if any(inst.weight[i] for i in self.meetings):
            score = sum(inst.weight[i] * self.placed[i] for i in self.meetings)
            self.levels["score"] = (score, MAX)

    def _holes(self, q: int, target: bool | None) -> list[cp_model.IntVar]:
        """Return participant ``q``'s "a hole starts in slot s" literals."""
        inst, m = self.inst, self.model
        row = self.busy[q]
        if inst.cap[q] < 2 or len(row) < 2 or len(self.inc[q]) < 2:
            return []
        slots = sorted(row)
        # later[s]: q meets in slot s or after (suffix OR over busy).
        later: dict[int, cp_model.IntVar] = {}
        for s in reversed(slots[1:]):
            nxt = later.get(min((t for t in slots if t > s), default=0))
            v = m.NewBoolVar(f"later{q}_{s}")
            parts = [row[s], *([nxt] if nxt is not None else [])]
            m.AddBoolOr([v.Not(), *parts])
            for p in parts:
                m.AddImplication(p, v)
            later[s] = v
            self.later[(q, s)] = v
        starts = []
        for s in range(slots[0] + 1, slots[-1]):
            prev = row.get(s - 1)
            nxt_slot = min((t for t in slots if t > s), default=None)
            if prev is None or nxt_slot is None:
                continue
            # A hole starts at s: busy at s - 1, free at s, a meeting later.
            h = m.NewBoolVar(f"hole{q}_{s}")
            cond = [prev, later[nxt_slot]]
            if s in row:
                cond.append(row[s].Not())
            m.AddBoolOr([h, *(c.Not() for c in cond)])
            for c in cond:
                m.AddImplication(h, c)
            self.start[(q, s)] = h
            starts.append(h)
        bound = self.bounds.get(q, 0)
        if bound:
            m.Add(sum(starts) >= bound)
        self.hole_lits[q] = starts
        if target is not None:
            # at_bound[q]: q has no more holes than its bound (fixed true, or by relax_only).
            a = self.at_bound[q] = m.NewBoolVar(f"at_bound{q}")
            if not target:
                m.AddBoolOr([a])
            elif starts:
                m.Add(sum(starts) <= bound + 1)
            if bound == 0:
                self._blocks(q, a)
            else:
                m.Add(sum(starts) <= bound).OnlyEnforceIf(a)
        return starts

    def _blocks(self, q: int, at_bound: cp_model.IntVar) -> None:
        """Make participant ``q`` meet in one block of consecutive slots when ``at_bound``."""
        m = self.model
        row = self.busy[q]
        k = len(self.inc[q])
        starts = _block_starts(set(row), k)
        if not starts:
            m.AddBoolOr([at_bound.Not()])
            return
        for lo in starts:
            self.block[(q, lo)] = m.NewBoolVar(f"block{q}_{lo}")
        blocks = [self.block[(q, lo)] for lo in starts]
        m.Add(sum(blocks) == at_bound)
        for s, v in row.items():
            cover = [self.block[(q, lo)] for lo in starts if lo <= s < lo + k]
            m.Add(v == sum(cover)).OnlyEnforceIf(at_bound)

    def relax_only(self, person: int) -> None:
        """Fix every ``at_bound`` literal to true but ``person``'s, which is left free."""
        proto = self.model.Proto()
        for q, lit in self.at_bound.items():
            proto.variables[lit.Index()].domain[0] = int(q != person)

    # -- solving ----------------------------------------------------------------------------------

    def hint(self, solution: Mapping[int, int]) -> None:
        """Hint a schedule (meeting index to slot) and every auxiliary variable it implies."""
        inst, m = self.inst, self.model
        m.ClearHints()
        busy: dict[int, set[int]] = defaultdict(set)
        for i in self.meetings:
            s0 = solution.get(i)
            for s, v in self.x[i].items():
                m.AddHint(v, int(s == s0))
            if s0 in self.x[i]:
                busy[inst.pa[i]].add(s0)
                busy[inst.pb[i]].add(s0)
        for (q, s), v in self.busy_aux.items():
            m.AddHint(v, int(s in busy[q]))
        for q, v in getattr(self, "has", {}).items():
            m.AddHint(v, int(bool(busy[q])))
        for (q, s), v in self.later.items():
            m.AddHint(v, int(any(t >= s for t in busy[q])))
        for (q, s), v in self.start.items():
            m.AddHint(v, int(s - 1 in busy[q] and s not in busy[q] and max(busy[q]) > s))
        for (q, lo), v in self.block.items():
            lo_q = min(busy[q], default=0)
            m.AddHint(v, int(lo == lo_q and max(busy[q]) - lo_q + 1 == len(busy[q])))

    def read(self, solver: cp_model.CpSolver) -> dict[int, int]:
        """Return the slot of each placed meeting in the solver's solution."""
        return {i: s for i in self.meetings for s, v in self.x[i].items() if solver.Value(v)}

    def fix_level(self, name: str, value: int) -> None:
        """Keep a level at least as good as ``value`` from now on."""
        expr, sense = self.levels[name]
        self.model.Add(expr <= value if sense == MIN else expr >= value)

    def run(
        self,
        name: str | None,
        work: float,
        seconds: float,
        hint: Mapping[int, int] | None = None,
        workers: int | None = None,
        lp: bool = True,
    ) -> Outcome:
        """Optimise level ``name`` (or just find a solution when ``None``) from ``hint``."""
        m = self.model
        if name is None:
            m.ClearObjective()
        else:
            expr, sense = self.levels[name]
            m.Minimize(expr) if sense == MIN else m.Maximize(expr)
        if hint is not None:
            self.hint(hint)
            if name is None:
                # OR-Tools 9.15 aborts ("Check failed: heuristics.fixed_search != nullptr") when
                # several workers get a hint for a feasibility model that turns out infeasible.
                workers = 1
        else:
            m.ClearHints()
        solver = self.settings.make_solver(work, seconds, workers, lp)
        status = solver.Solve(m)
        found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        solution = self.read(solver) if found else None
        value = bound = None
        if found and name is not None:
            value = round(solver.ObjectiveValue())
            bound = round(solver.BestObjectiveBound())
        return Outcome(solver.StatusName(status), value, bound, solution, solver.deterministic_time)
