"""Compile a problem (plus locked meetings and frozen slots) into index arrays for the solvers.

Also diagnoses required meetings that cannot be placed, with a reason an organiser understands.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from matchmaker.scheduling.solver.problem import Problem


class InvalidLockError(ValueError):
    """Raised when locked meetings contradict the problem or each other.

    Attributes
    ----------
    problems : list of str
        One message per offending lock.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Lock:
    """A meeting kept at its slot (and table, when given)."""

    meeting_id: str
    slot: int
    table: int | None = None

    @classmethod
    def coerce(cls, item: Lock | Mapping[str, Any] | tuple) -> Lock:
        """Build a lock from a ``Lock``, a mapping with ``id``/``slot``/``table`` or a tuple."""
        if isinstance(item, Lock):
            return item
        if isinstance(item, Mapping):
            table = item.get("table")
            return cls(str(item["id"]), int(item["slot"]), None if table is None else int(table))
        mid, slot, *rest = item
        return cls(str(mid), int(slot), int(rest[0]) if rest and rest[0] is not None else None)


@dataclass
class Instance:
    """Index form of a problem: participants and meetings as integers, domains as slot lists.

    Attributes
    ----------
    problem : Problem
    n_slots, n_tables : int
    pid : list of str
        Participant ids by index.
    pa, pb : list of int
        Participant indices of each meeting.
    weight : list of int
        Integer scores.
    required : list of bool
    dom : list of list of int
        Slots each meeting may use, after availability, window, fixed slot, frozen slots and locks.
    cap : list of int
        Effective meeting cap per participant (never above the slot count).
    before : list of list of int
        ``before[i]``: meetings that must take place earlier than meeting ``i``.
    locked : dict of int to Lock
    eligible : set of int
        Participants counted by the fairness objective.
    incident : list of list of int
        Meetings of each participant.
    reasons : dict of int to str
        Required meetings that cannot be placed at all, with the reason.
    overload : dict of int to str
        Participants whose required meetings cannot all fit, with the reason.
    """

    problem: Problem
    n_slots: int
    n_tables: int
    pid: list[str]
    pa: list[int]
    pb: list[int]
    weight: list[int]
    required: list[bool]
    dom: list[list[int]]
    cap: list[int]
    before: list[list[int]]
    locked: dict[int, Lock]
    eligible: set[int]
    incident: list[list[int]] = field(default_factory=list)
    reasons: dict[int, str] = field(default_factory=dict)
    overload: dict[int, str] = field(default_factory=dict)
    _after: dict[int, list[int]] | None = field(default=None, repr=False, compare=False)

    @property
    def n_meetings(self) -> int:
        """Number of listed meetings."""
        return len(self.pa)

    def candidates(self) -> list[int]:
        """Return meetings that have at least one possible slot."""
        return [i for i, d in enumerate(self.dom) if d]

    def successors(self) -> dict[int, list[int]]:
        """Return, per meeting, the meetings that must take place after it (computed once)."""
        if self._after is None:
            after: dict[int, list[int]] = defaultdict(list)
            for k, bs in enumerate(self.before):
                for j in bs:
                    after[j].append(k)
            self._after = dict(after)
        return self._after

    def required_feasible(self) -> list[int]:
        """Return required meetings not already known to be impossible."""
        return [i for i, r in enumerate(self.required) if r and i not in self.reasons]


def compile_instance(
    problem: Problem,
    locked: Iterable[Lock | Mapping[str, Any] | tuple] = (),
    frozen_slots: Iterable[int] = (),
) -> Instance:
    """Compile a problem into an :class:`Instance`.

    Parameters
    ----------
    problem : Problem
    locked : iterable
        Meetings to keep where they are (see :class:`Lock`).
    frozen_slots : iterable of int
        Slots that already happened: only locked meetings may be there.

    Returns
    -------
    Instance

    Raises
    ------
    InvalidLockError
        When a lock names an unknown meeting, breaks a hard constraint or clashes with another.
    """
    parts = problem.participant_map()
    pid = [p.id for p in problem.participants]
    pidx = {q: k for k, q in enumerate(pid)}
    frozen = set(frozen_slots)
    n = len(problem.meetings)
    pa = [pidx[m.a] for m in problem.meetings]
    pb = [pidx[m.b] for m in problem.meetings]
    locks: dict[int, Lock] = {}
    errors: list[str] = []
    for item in locked:
        lk = Lock.coerce(item)
        if not problem.has_meeting(lk.meeting_id):
            errors.append(f"locked meeting {lk.meeting_id} is not in the problem")
            continue
        i = problem.meeting_index(lk.meeting_id)
        if i in locks:
            errors.append(f"meeting {lk.meeting_id} locked twice")
            continue
        m = problem.meetings[i]
        if lk.slot not in problem.domain(m, parts):
            errors.append(
                f"locked meeting {lk.meeting_id} cannot be at slot {lk.slot} "
                f"({'; '.join(_why_not_slot(problem, m, lk.slot, parts))})"
            )
            continue
        if lk.table is not None and not 1 <= lk.table <= problem.tables:
            errors.append(f"locked meeting {lk.meeting_id}: table {lk.table} out of range")
            continue
        locks[i] = lk
    seen_pslot: dict[tuple[int, int], str] = {}
    seen_table: dict[tuple[int, int], str] = {}
    load: dict[int, int] = defaultdict(int)
    for i, lk in locks.items():
        for q in (pa[i], pb[i]):
            other = seen_pslot.get((q, lk.slot))
            if other is not None:
                errors.append(
                    f"locked meetings {other} and {lk.meeting_id} both need {pid[q]} "
                    f"in slot {lk.slot}"
                )
            seen_pslot[(q, lk.slot)] = lk.meeting_id
        if lk.table is not None:
            other = seen_table.get((lk.slot, lk.table))
            if other is not None:
                errors.append(
                    f"locked meetings {other} and {lk.meeting_id} share table {lk.table} "
                    f"in slot {lk.slot}"
                )
            seen_table[(lk.slot, lk.table)] = lk.meeting_id
        load[lk.slot] += 1
    for s, c in load.items():
        if c > problem.tables:
            errors.append(f"{c} locked meetings in slot {s} exceed {problem.tables} tables")
    cap = []
    for p in problem.participants:
        c = problem.slots if p.max_meetings is None else min(p.max_meetings, problem.slots)
        cap.append(max(c, 0))
    nlocked: dict[int, int] = defaultdict(int)
    for i in locks:
        nlocked[pa[i]] += 1
        nlocked[pb[i]] += 1
    for q, c in nlocked.items():
        if c > cap[q]:
            errors.append(f"{pid[q]} has {c} locked meetings, more than max_meetings {cap[q]}")
    if errors:
        raise InvalidLockError(errors)

    dom: list[list[int]] = []
    reasons: dict[int, str] = {}
    for i, m in enumerate(problem.meetings):
        if i in locks:
            dom.append([locks[i].slot])
            continue
        d = [s for s in problem.domain(m, parts) if s not in frozen]
        dom.append(d)
        if not d and m.required:
            reasons[i] = _why_no_slot(problem, m, parts, frozen)
    index = {m.id: i for i, m in enumerate(problem.meetings)}
    before = [[index[x] for x in m.after if x in index] for m in problem.meetings]
    incident: list[list[int]] = [[] for _ in pid]
    for i in range(n):
        incident[pa[i]].append(i)
        if pb[i] != pa[i]:
            incident[pb[i]].append(i)
    thr = problem.fairness_threshold
    eligible: set[int] = set()
    if thr is not None:
        for i, m in enumerate(problem.meetings):
            if m.score >= thr:
                eligible.update((pa[i], pb[i]))
    inst = Instance(
        problem=problem,
        n_slots=problem.slots,
        n_tables=problem.tables,
        pid=pid,
        pa=pa,
        pb=pb,
        weight=[problem.score_int(m) for m in problem.meetings],
        required=[m.required for m in problem.meetings],
        dom=dom,
        cap=cap,
        before=before,
        locked=locks,
        eligible=eligible,
        incident=incident,
        reasons=reasons,
    )
    _diagnose_counts(inst, frozen)
    _diagnose_cycles(inst)
    return inst


def _why_not_slot(problem: Problem, m: Any, slot: int, parts: Mapping[str, Any]) -> list[str]:
    why = []
    if not 1 <= slot <= problem.slots:
        why.append("slot out of range")
    if slot not in problem.window_slots(m.window):
        why.append(f"outside its {m.window} window")
    if m.fixed_slot is not None and slot != m.fixed_slot:
        why.append(f"fixed at slot {m.fixed_slot}")
    for q in (m.a, m.b):
        if slot in parts[q].unavailable:
            why.append(f"{q} is unavailable")
    if m.a == m.b:
        why.append("a meeting with oneself")
    return why or ["not allowed"]


def _why_no_slot(problem: Problem, m: Any, parts: Mapping[str, Any], frozen: set[int]) -> str:
    """Explain why a meeting has no possible slot at all."""
    if m.a == m.b:
        return f"{m.a} cannot meet themself"
    win = list(problem.window_slots(m.window))
    where = "" if m.window == "any" or not problem.morning_slots else f" in the {m.window}"
    if not win:
        return f"its {m.window} window has no slot"
    if m.fixed_slot is not None:
        if m.fixed_slot not in win:
            return f"fixed slot {m.fixed_slot} is outside its {m.window} window"
        busy = [q for q in (m.a, m.b) if m.fixed_slot in parts[q].unavailable]
        if busy:
            return f"fixed slot {m.fixed_slot}: {' and '.join(busy)} unavailable then"
        if m.fixed_slot in frozen:
            return f"fixed slot {m.fixed_slot} is already over (frozen)"
    open_slots = [s for s in win if s not in frozen]
    if not open_slots:
        return f"no slot{where} is left to plan (frozen)"
    free_a = [s for s in open_slots if s not in parts[m.a].unavailable]
    free_b = [s for s in open_slots if s not in parts[m.b].unavailable]
    if not free_a:
        return f"{m.a} has no free slot{where}"
    if not free_b:
        return f"{m.b} has no free slot{where}"
    return f"{m.a} and {m.b} share no free slot{where}"


def _diagnose_counts(inst: Instance, frozen: set[int]) -> None:
    """Record participants whose required meetings exceed their cap, free slots or a fixed slot."""
    prob = inst.problem
    for q, mids in enumerate(inst.incident):
        req = [i for i in mids if inst.required[i] and i not in inst.reasons]
        if not req:
            continue
        name = inst.pid[q]
        free = set().union(*(inst.dom[i] for i in req))
        msgs = []
        if len(req) > inst.cap[q]:
            msgs.append(f"{name} has {len(req)} required meetings but max_meetings {inst.cap[q]}")
        if len(req) > len(free):
            msgs.append(
                f"{name} has {len(req)} required meetings but only {len(free)} available slots"
            )
        if prob.morning_slots:
            for win in ("morning", "afternoon"):
                wreq = [i for i in req if set(inst.dom[i]) <= set(prob.window_slots(win))]
                wfree = set().union(*(inst.dom[i] for i in wreq)) if wreq else set()
                if len(wreq) > len(wfree):
                    msgs.append(
                        f"{name} has {len(wreq)} required {win} meetings but only "
                        f"{len(wfree)} free {win} slots"
                    )
        fixed: dict[int, list[int]] = defaultdict(list)
        for i in req:
            if len(inst.dom[i]) == 1:
                fixed[inst.dom[i][0]].append(i)
        for s, ii in sorted(fixed.items()):
            if len(ii) > 1:
                ids = ", ".join(prob.meetings[i].id for i in ii)
                msgs.append(f"{name} has required meetings {ids} all bound to slot {s}")
        if msgs:
            inst.overload[q] = "; ".join(msgs)


def _diagnose_cycles(inst: Instance) -> None:
    """Mark required meetings on a precedence cycle among required meetings."""
    req = set(inst.required_feasible())
    color: dict[int, int] = {}
    stack_path: list[int] = []

    def visit(i: int) -> None:
        color[i] = 1
        stack_path.append(i)
        for j in inst.before[i]:
            if j not in req:
                continue
            if color.get(j) == 1:
                cyc = stack_path[stack_path.index(j) :]
                ids = " -> ".join(inst.problem.meetings[k].id for k in cyc)
                for k in cyc:
                    inst.reasons.setdefault(k, f"precedence cycle among required meetings: {ids}")
            elif j not in color:
                visit(j)
        stack_path.pop()
        color[i] = 2

    for i in sorted(req):
        if i not in color:
            visit(i)
