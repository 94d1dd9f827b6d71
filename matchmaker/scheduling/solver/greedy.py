"""Constructive schedules: fast, always valid, used as CP-SAT hints and as the fallback."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from matchmaker.scheduling.solver.instance import Instance

#: Longest alternating chain :meth:`GreedyState.try_chain` swaps (meetings moved).
CHAIN_LIMIT = 400


class GreedyState:
    """Partial schedule with the bookkeeping needed to place meetings one at a time.

    Parameters
    ----------
    inst : Instance
    start : mapping of int to int, optional
        A valid schedule to start from (meeting to slot).
    """

    def __init__(self, inst: Instance, start: Mapping[int, int] | None = None) -> None:
        self.inst = inst
        self.busy: list[set[int]] = [set() for _ in inst.pid]
        self.load = [0] * (inst.n_slots + 2)
        self.slot: dict[int, int] = {}
        # Who meets whom where, kept up to date so that ejecting needs no scan of the schedule:
        # the meeting of each (participant, slot), and each slot's meetings in placing order.
        self.at: dict[tuple[int, int], int] = {}
        self.by_slot: dict[int, dict[int, None]] = {}
        self.after_of: list[list[int]] = [[] for _ in range(inst.n_meetings)]
        for i, bs in enumerate(inst.before):
            for j in bs:
                self.after_of[j].append(i)
        for i, s in sorted((start or {}).items()):
            self.place(i, s)

    def feasible_slots(self, i: int) -> list[int]:
        """Return the slots where meeting ``i`` fits now."""
        inst = self.inst
        a, b = inst.pa[i], inst.pb[i]
        if i in self.slot or len(self.busy[a]) >= inst.cap[a] or len(self.busy[b]) >= inst.cap[b]:
            return []
        lo, hi = 0, inst.n_slots + 1
        for j in inst.before[i]:
            if j in self.slot:
                lo = max(lo, self.slot[j])
        for k in self.after_of[i]:
            if k in self.slot:
                hi = min(hi, self.slot[k])
        ba, bb = self.busy[a], self.busy[b]
        return [
            s
            for s in inst.dom[i]
            if lo < s < hi and s not in ba and s not in bb and self.load[s] < inst.n_tables
        ]

    def cost(self, i: int, s: int) -> tuple[int, int, int]:
        """Rank slot ``s`` for meeting ``i``: added holes, distance to other meetings, load."""
        inst = self.inst
        dh = 0
        dist = 0
        for q in (inst.pa[i], inst.pb[i]):
            bs = self.busy[q]
            if bs:
                h, d = _added_hole(bs, s)
                dh += h
                dist += d
        return (dh, dist, s)

    def place(self, i: int, s: int) -> None:
        """Put meeting ``i`` at slot ``s``."""
        self.slot[i] = s
        self.busy[self.inst.pa[i]].add(s)
        self.busy[self.inst.pb[i]].add(s)
        self.at[(self.inst.pa[i], s)] = self.at[(self.inst.pb[i], s)] = i
        self.by_slot.setdefault(s, {})[i] = None
        self.load[s] += 1

    def remove(self, i: int) -> None:
        """Take meeting ``i`` out of the schedule."""
        s = self.slot.pop(i)
        self.busy[self.inst.pa[i]].discard(s)
        self.busy[self.inst.pb[i]].discard(s)
        self.at.pop((self.inst.pa[i], s), None)
        self.at.pop((self.inst.pb[i], s), None)
        del self.by_slot[s][i]
        self.load[s] -= 1

    def try_eject(self, i: int) -> bool:
        """Place meeting ``i`` by moving the meetings in its way to other slots (one level)."""
        inst = self.inst
        a, b = inst.pa[i], inst.pb[i]
        if len(self.busy[a]) >= inst.cap[a] or len(self.busy[b]) >= inst.cap[b]:
            return False
        if inst.before[i]:
            return False
        for s, blockers in self._blocker_sets(i):
            if any(j in inst.locked or inst.before[j] or self.after_of[j] for j in blockers):
                continue
            moved = {}
            for j in blockers:
                self.remove(j)
            self.busy[a].add(s)
            self.busy[b].add(s)
            self.load[s] += 1
            ok = True
            for j in sorted(blockers):
                options = [t for t in self.feasible_slots(j) if t != s]
                if not options:
                    ok = False
                    break
                t = min(options, key=lambda t, j=j: self.cost(j, t))
                self.place(j, t)
                moved[j] = t
            self.busy[a].discard(s)
            self.busy[b].discard(s)
            self.load[s] -= 1
            if ok:
                self.place(i, s)
                return True
            for j in moved:
                self.remove(j)
            for j in blockers:
                self.place(j, s)
        return False

    def _blocker_sets(self, i: int) -> list[tuple[int, set[int]]]:
        """List (slot, meetings to move) that would free slot ``s`` for meeting ``i``."""
        inst, at = self.inst, self.at
        out = []
        for s in inst.dom[i]:
            blockers = {at[(q, s)] for q in (inst.pa[i], inst.pb[i]) if (q, s) in at}
            if self.load[s] - len(blockers) < inst.n_tables:
                if blockers:
                    out.append((s, blockers))
                continue
            # The slot is full: also move one other meeting out of it.
            for j in list(self.by_slot.get(s, {}))[:8]:
                if j not in blockers:
                    out.append((s, blockers | {j}))
        return out

    def try_place(self, i: int) -> bool:
        """Place meeting ``i`` at its best feasible slot, if any."""
        slots = self.feasible_slots(i)
        if not slots:
            return False
        self.place(i, min(slots, key=lambda s: self.cost(i, s)))
        return True

    def try_chain(self, i: int) -> bool:
        """Place meeting ``i`` by swapping two slots along an alternating chain (Kempe chain).

        One side ``p`` of the meeting is free in slot ``s``, the other ``r`` busy there but
        free in ``t``: the meetings that alternate between ``s`` and ``t`` from ``r`` on swap
        their slots, which frees ``r`` in ``s``. Every meeting keeps its participants, so caps
        hold; the chain must stay within its meetings' slots, away from ``p``, locks and
        precedence. A slot the swap leaves one meeting over the tables hands one meeting that
        fits elsewhere to a slot with a free table. Shorter chains are tried first.
        """
        inst = self.inst
        a, b = inst.pa[i], inst.pb[i]
        if i in self.slot or inst.before[i] or self.after_of[i]:
            return False
        if len(self.busy[a]) >= inst.cap[a] or len(self.busy[b]) >= inst.cap[b]:
            return False
        chains: list[tuple[int, int, int, list[int]]] = []
        for p, r in ((a, b), (b, a)):
            for s in inst.dom[i]:
                if s in self.busy[p] or s not in self.busy[r]:
                    continue
                for t in range(1, inst.n_slots + 1):
                    if t != s and t not in self.busy[r]:
                        chain = self._chain(p, r, s, t)
                        if chain is not None:
                            chains.append((len(chain), s, t, chain))
        for _n, s, t, chain in sorted(chains, key=lambda c: c[:3]):
            moves = {j: (t if self.slot[j] == s else s) for j in chain}
            undo = {j: self.slot[j] for j in chain}
            self._move(moves)
            self.place(i, s)
            if self._unload(s, i) and self._unload(t, i):
                return True
            self.remove(i)
            self._move(undo)
        return False

    def _chain(self, p: int, r: int, s: int, t: int) -> list[int] | None:
        """Return the chain from ``r`` alternating slots ``s``, ``t`` (``None``: not usable)."""
        inst = self.inst
        chain: list[int] = []
        q, here, there = r, s, t
        while (q, here) in self.at:
            j = self.at[(q, here)]
            if len(chain) >= CHAIN_LIMIT or j in inst.locked or there not in inst.dom[j]:
                return None
            if inst.before[j] or self.after_of[j]:
                return None
            chain.append(j)
            q = inst.pb[j] if inst.pa[j] == q else inst.pa[j]
            if q == p:
                return None
            here, there = there, here
        return chain

    def _move(self, moves: Mapping[int, int]) -> None:
        """Put each meeting of ``moves`` in its new slot."""
        for j in moves:
            self.remove(j)
        for j, u in moves.items():
            self.place(j, u)

    def _unload(self, s: int, keep: int) -> bool:
        """Bring slot ``s`` back within the tables by moving one meeting (not ``keep``) away."""
        inst = self.inst
        if self.load[s] <= inst.n_tables:
            return True
        for j in self.by_slot[s]:
            if j == keep or j in inst.locked or inst.before[j] or self.after_of[j]:
                continue
            ba, bb = self.busy[inst.pa[j]], self.busy[inst.pb[j]]
            for u in inst.dom[j]:
                if self.load[u] < inst.n_tables and u not in ba and u not in bb:
                    self._move({j: u})
                    return True
        return False


def _added_hole(busy: set[int], s: int) -> tuple[int, int]:
    """Return the holes a meeting in slot ``s`` adds to ``busy``, and its distance to them.

    The same as counting the holes before and after (``check.count_holes``), from the nearest
    meetings on either side alone (the greedy asks this for every slot of every meeting).
    """
    if s in busy:
        return 0, 0
    below = above = None
    for t in busy:
        if t < s and (below is None or t > below):
            below = t
        elif t > s and (above is None or t < above):
            above = t
    if below is None:
        return int(above - s > 1), above - s
    if above is None:
        return int(s - below > 1), s - below
    # s splits the hole between below and above into up to two.
    return int(s - below > 1) + int(above - s > 1) - 1, min(s - below, above - s)


def greedy_schedule(
    inst: Instance,
    subset: Iterable[int] | None = None,
    place_all: bool = False,
    start: Mapping[int, int] | None = None,
) -> dict[int, int]:
    """Build a valid schedule greedily.

    Order: locked meetings, required meetings (most constrained first), one good meeting for each
    participant the fairness objective counts, then the rest by decreasing score. Each meeting goes
    to the feasible slot that adds the fewest holes.

    Parameters
    ----------
    inst : Instance
    subset : iterable of int, optional
        Only consider these meetings (default: all with a possible slot).
    place_all : bool
        Treat every meeting of ``subset`` like a required one (used to colour a selection).
    start : mapping of int to int, optional
        Meetings already placed (e.g. all required ones, found by CP-SAT); kept as they are.

    Returns
    -------
    dict of int to int
        Slot of each placed meeting.
    """
    st = GreedyState(inst)
    pool = [i for i in (inst.candidates() if subset is None else subset) if inst.dom[i]]
    for i, lk in inst.locked.items():
        st.place(i, lk.slot)
    for i, s in sorted((start or {}).items()):
        if i not in st.slot:
            st.place(i, s)
    deg = [0] * len(inst.pid)
    for i in pool:
        deg[inst.pa[i]] += 1
        deg[inst.pb[i]] += 1

    def hardness(i: int) -> tuple[int, int, int]:
        return (len(inst.dom[i]), -max(deg[inst.pa[i]], deg[inst.pb[i]]), i)

    must = [i for i in pool if (place_all or inst.required[i]) and i not in st.slot]
    for i in sorted(must, key=hardness):
        st.try_place(i)
    for _round in range(3):
        for i in sorted(must, key=hardness):
            if i not in st.slot and not st.try_place(i):
                st.try_eject(i)
    if inst.eligible:
        _fairness_pass(inst, st, pool)
    rest = [i for i in pool if i not in st.slot]
    rest.sort(key=lambda i: (-inst.weight[i], len(inst.dom[i]), i))
    for i in rest:
        st.try_place(i)
    return dict(st.slot)


def _fairness_pass(inst: Instance, st: GreedyState, pool: Sequence[int]) -> None:
    """Give each eligible participant without a meeting their best placeable meeting."""
    options: dict[int, list[int]] = {q: [] for q in inst.eligible}
    for i in pool:
        for q in (inst.pa[i], inst.pb[i]):
            if q in options:
                options[q].append(i)
    for q in sorted(options, key=lambda q: (len(options[q]), q)):
        if st.busy[q]:
            continue
        # Prefer partners who also still need a meeting, then the best score.
        cand = sorted(
            options[q],
            key=lambda i: (
                bool(st.busy[inst.pb[i] if inst.pa[i] == q else inst.pa[i]]),
                -inst.weight[i],
                i,
            ),
        )
        for i in cand:
            if st.try_place(i):
                break


def chain_in(inst: Instance, sol: Mapping[int, int], meetings: Iterable[int]) -> dict[int, int]:
    """Add ``meetings`` to the schedule ``sol``, by alternating chains where no slot is free.

    Parameters
    ----------
    inst : Instance
    sol : mapping of int to int
        A valid schedule; its meetings may move to other slots, none is dropped.
    meetings : iterable of int
        Meetings to add (those that fit nowhere stay out).

    Returns
    -------
    dict of int to int
    """
    st = GreedyState(inst, sol)
    for i in meetings:
        if i not in st.slot and not st.try_place(i):
            st.try_chain(i)
    return dict(st.slot)
