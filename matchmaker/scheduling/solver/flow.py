"""The degree-capped matching relaxation as a min-cost flow: exact and fast on two-sided events.

The relaxation of ``bound.py`` (no slots: each participant at most ``min(cap, free slots)``
meetings, at most ``tables`` times the open slots in all, required and locked meetings held)
is a b-matching. When the meetings that are not held already join two groups of participants
that never meet among themselves (SMEs and startups; found here by two-colouring, never from
``side``), it is a flow problem, and a flow problem's optimum is integral: min-cost flow solves
it exactly in a fraction of the time HiGHS's MIP needs at thousands of participants.

The levels are folded into one cost: an eligible participant's first meeting earns a bonus
larger than every score together, so the flow first covers as many eligible participants as it
can, then maximises the score; a held meeting is fixed before the flow runs. Required meetings
that are not all placeable (``soft``) leave the flow out: then ``bound.select_meetings``
decides.

A few free meetings inside one group (a "must meet" wish from one SME to another) break the two
groups. On a small problem HiGHS then proves the optimum in about a second; on a large one
(from :data:`ODD_FLOW_MIN` candidates) the flow still chooses, with each such meeting decided
beforehand (held when a given schedule has it, left out otherwise): a good selection, but no
longer a proven optimum, so the bound comes from the LP (``bound.lp_score_bound``).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Collection

from ortools.graph.python import min_cost_flow

from matchmaker.scheduling.solver.bound import Selection
from matchmaker.scheduling.solver.instance import Instance

#: Nodes of the network: the source, the sink, then one per participant.
SOURCE, SINK, FIRST = 0, 1, 2

#: From this many free candidates, meetings inside one group are decided before the flow
#: instead of leaving the selection to HiGHS (its MIP took 11.7 s at 5,000 participants on a
#: quiet machine, and more than its share of a 30 s limit at load 20).
ODD_FLOW_MIN = 20_000

#: Most passes that move participants to the colour most of their partners lack.
FLIP_SWEEPS = 20

#: At most this share of the free candidates may lie inside one group for the flow to choose.
ODD_SHARE = 0.02


def two_colouring(n: int, edges: list[tuple[int, int]], strict: bool = True) -> list[int] | None:
    """Colour participants 0/1 so that every edge joins both colours.

    ``None`` when that is impossible and ``strict``; otherwise the colouring of a breadth-first
    search, where some edges join one colour, improved by moving each participant to the colour
    most of its partners lack while that helps (a one-sided edge in the search tree would
    otherwise turn thousands of edges one-sided).
    """
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    colour = [-1] * n
    for start in range(n):
        if colour[start] >= 0 or not adj[start]:
            continue
        colour[start] = 0
        queue = deque([start])
        while queue:
            q = queue.popleft()
            for r in adj[q]:
                if colour[r] < 0:
                    colour[r] = 1 - colour[q]
                    queue.append(r)
                elif colour[r] == colour[q] and strict:
                    return None
    colour = [max(c, 0) for c in colour]
    for _sweep in range(FLIP_SWEEPS if not strict else 0):
        flipped = 0
        for q in range(n):
            same = sum(1 for r in adj[q] if colour[r] == colour[q])
            if 2 * same > len(adj[q]):
                colour[q] = 1 - colour[q]
                flipped += 1
        if not flipped:
            break
    return colour


class FlowRelaxation:
    """The relaxation of an instance as a flow network, when it is one.

    Parameters
    ----------
    inst : Instance
    keep : collection of int
        A schedule's meetings: on a large problem, the free meetings inside one group that
        are held (the others are left out).

    Attributes
    ----------
    applies : bool
        Every held meeting (required or locked) fits the relaxation and the other candidates
        join two groups, or nearly so on a large problem; otherwise :meth:`select` returns
        ``None``.
    exact : bool
        The candidates join two groups: :meth:`select` returns the relaxation's optimum.
    """

    def __init__(self, inst: Instance, keep: Collection[int] = ()) -> None:
        self.inst = inst
        cand = inst.candidates()
        self.held = sorted(set(inst.required_feasible()) | set(inst.locked))
        held = set(self.held)
        free_slots: list[set[int]] = [set() for _ in inst.pid]
        for i in cand:
            free_slots[inst.pa[i]].update(inst.dom[i])
            free_slots[inst.pb[i]].update(inst.dom[i])
        self.left = [min(c, len(f)) for c, f in zip(inst.cap, free_slots, strict=True)]
        for i in self.held:
            self.left[inst.pa[i]] -= 1
            self.left[inst.pb[i]] -= 1
        open_slots = set().union(*free_slots)
        self.total = inst.n_tables * len(open_slots) - len(self.held)
        fits = self.total >= 0 and min(self.left, default=0) >= 0
        fits = fits and all(inst.dom[i] for i in self.held)
        left = self.left
        self.free = [
            i
            for i in cand
            if i not in held and inst.pa[i] != inst.pb[i] and left[inst.pa[i]] and left[inst.pb[i]]
        ]
        edges = [(inst.pa[i], inst.pb[i]) for i in self.free]
        self.colour = two_colouring(len(inst.pid), edges) if fits else None
        self.exact = self.colour is not None
        if fits and not self.exact and len(self.free) >= ODD_FLOW_MIN:
            self._decide_odd(set(keep))
        self.applies = self.colour is not None

    def _decide_odd(self, keep: set[int]) -> None:
        """Hold the free meetings inside one colour that ``keep`` has, drop the others."""
        inst = self.inst
        colour = two_colouring(len(inst.pid), [(inst.pa[i], inst.pb[i]) for i in self.free], False)
        assert colour is not None
        odd = [i for i in self.free if colour[inst.pa[i]] == colour[inst.pb[i]]]
        if len(odd) > ODD_SHARE * len(self.free):
            return
        for i in odd:
            a, b = inst.pa[i], inst.pb[i]
            if i in keep and self.left[a] > 0 and self.left[b] > 0 and self.total > 0:
                self.held.append(i)
                self.left[a] -= 1
                self.left[b] -= 1
                self.total -= 1
        self.held.sort()
        odd_set = set(odd)
        left = self.left
        self.free = [
            i for i in self.free if i not in odd_set and left[inst.pa[i]] and left[inst.pb[i]]
        ]
        self.colour = colour

    def select(self, fairness: bool = True) -> Selection | None:
        """Choose meetings by min-cost flow: the lexicographic optimum of the relaxation.

        Parameters
        ----------
        fairness : bool
            Put covering eligible participants before the score (the solver's order);
            ``False``: the score alone, which bounds the score of every schedule that places
            every required meeting.

        Returns
        -------
        Selection or None
            ``None`` when the flow does not apply.
        """
        if self.colour is None:
            return None
        t0 = time.perf_counter()
        inst, colour, free = self.inst, self.colour, self.free
        covered = {q for i in self.held for q in (inst.pa[i], inst.pb[i])}
        wanted = set(inst.eligible) - covered if fairness else set()
        # Worth more than every score together: one more eligible participant always wins.
        bonus = sum(inst.weight[i] for i in free if inst.weight[i] > 0) + 1
        flow = min_cost_flow.SimpleMinCostFlow()

        def side_arc(q: int, cap: int, cost: int) -> None:
            if cap <= 0:
                return
            if colour[q] == 0:
                flow.add_arc_with_capacity_and_unit_cost(SOURCE, FIRST + q, cap, cost)
            else:
                flow.add_arc_with_capacity_and_unit_cost(FIRST + q, SINK, cap, cost)

        for q, cap in enumerate(self.left):
            if q in wanted:
                side_arc(q, 1, -bonus)
                side_arc(q, cap - 1, 0)
            else:
                side_arc(q, cap, 0)
        arcs = []
        for i in free:
            a, b = inst.pa[i], inst.pb[i]
            if colour[a] == 1:
                a, b = b, a
            arcs.append(
                flow.add_arc_with_capacity_and_unit_cost(FIRST + a, FIRST + b, 1, -inst.weight[i])
            )
        # Meetings the tables cannot hold go through the bypass.
        flow.add_arc_with_capacity_and_unit_cost(SOURCE, SINK, self.total, 0)
        flow.set_node_supply(SOURCE, self.total)
        flow.set_node_supply(SINK, -self.total)
        if flow.solve() != flow.OPTIMAL:
            return None
        chosen = self.held + [i for i, arc in zip(free, arcs, strict=True) if flow.flow(arc)]
        has = {q for i in chosen for q in (inst.pa[i], inst.pb[i])}
        values = {
            "required": 0,
            "fairness": len(inst.eligible - has),
            "score": sum(inst.weight[i] for i in chosen),
        }
        return Selection(sorted(chosen), values, fairness and self.exact, time.perf_counter() - t0)
