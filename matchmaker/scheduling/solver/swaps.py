"""Fewer holes in a large schedule: swap two slots along alternating paths of meetings.

For two slots ``s`` and ``t``, the meetings held in them form paths and cycles (each
participant has at most one meeting in each). Swapping the slots of one path keeps every
meeting, every participant of its inside busy in both slots, and changes only its two ends:
each moves its meeting from one slot to the other. So the holes a swap saves are read from two
participants, tables move by at most one, and no search is needed: the pipeline's phase
``holes:swap`` takes every swap that saves a hole until none is left, where the CP-SAT model
of the holes would be too large to build.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from matchmaker.scheduling.solver.check import count_holes
from matchmaker.scheduling.solver.greedy import GreedyState
from matchmaker.scheduling.solver.instance import Instance


def swap_holes(
    inst: Instance,
    sol: Mapping[int, int],
    sweeps: int,
    go_on: Callable[[], bool] = lambda: True,
) -> dict[int, int]:
    """Return ``sol`` with every path swap that saves a hole made, over up to ``sweeps`` sweeps.

    Parameters
    ----------
    inst : Instance
    sol : mapping of int to int
        A valid schedule; the same meetings come back, some in other slots.
    sweeps : int
        Passes over all pairs of slots (the loop stops earlier when a pass saves nothing).
    go_on : callable
        Asked before each slot of a pass; ``False`` stops (the time limit).

    Returns
    -------
    dict of int to int
    """
    st = GreedyState(inst, sol)
    for _sweep in range(sweeps):
        saved = 0
        for s in range(1, inst.n_slots + 1):
            if not go_on():
                return dict(st.slot)
            for t in range(s + 1, inst.n_slots + 1):
                saved += _sweep_pair(st, s, t)
        if not saved:
            break
    return dict(st.slot)


def _sweep_pair(st: GreedyState, s: int, t: int) -> int:
    """Make every swap of slots ``s`` and ``t`` along a path that saves holes; return the saving."""
    inst = st.inst
    seen: set[int] = set()
    saved = 0
    for j in sorted([*st.by_slot.get(s, {}), *st.by_slot.get(t, {})]):
        if j in seen:
            continue
        path, ends = _path(st, j, s, t)
        seen.update(path)
        if ends is None or not _movable(st, path, s, t):
            continue
        in_s = sum(1 for k in path if st.slot[k] == s)
        in_t = len(path) - in_s
        if st.load[s] - in_s + in_t > inst.n_tables or st.load[t] - in_t + in_s > inst.n_tables:
            continue
        gain = sum(_gain(st.busy[q], s, t) for q in ends)
        if gain > 0:
            moves = {k: (t if st.slot[k] == s else s) for k in path}
            for k in path:
                st.remove(k)
            for k, u in moves.items():
                st.place(k, u)
            saved += gain
    return saved


def _path(st: GreedyState, j: int, s: int, t: int) -> tuple[list[int], tuple[int, int] | None]:
    """Return the path or cycle of meetings in slots ``s``, ``t`` through ``j``, and its ends."""
    inst = st.inst
    path = [j]
    ends = []
    for q in (inst.pa[j], inst.pb[j]):
        k, here = j, st.slot[j]
        while True:
            there = t if here == s else s
            nxt = st.at.get((q, there))
            if nxt is None:
                ends.append(q)
                break
            if nxt == j:
                return path, None  # a cycle: swapping it changes nobody's slots
            path.append(nxt)
            k, here = nxt, there
            q = inst.pb[k] if inst.pa[k] == q else inst.pa[k]
    return path, (ends[0], ends[1])


def _movable(st: GreedyState, path: list[int], s: int, t: int) -> bool:
    """Tell whether every meeting of ``path`` may take the other slot."""
    inst = st.inst
    for k in path:
        other = t if st.slot[k] == s else s
        if k in inst.locked or inst.before[k] or st.after_of[k] or other not in inst.dom[k]:
            return False
    return True


def _gain(busy: set[int], s: int, t: int) -> int:
    """Return the holes a participant busy in exactly one of ``s``, ``t`` saves by switching."""
    new = (busy - {s}) | {t} if s in busy else (busy - {t}) | {s}
    return count_holes(busy) - count_holes(new)
