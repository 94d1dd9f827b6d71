"""The degree-capped matching (b-matching) relaxation, solved by HiGHS: LP bound and selection."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix

from matchmaker.scheduling.solver.instance import Instance
from matchmaker.scheduling.solver.problem import SCORE_SCALE


def lp_score_bound(inst: Instance, held: bool = False, cover: bool = False) -> float | None:
    """Bound the total score of any schedule from above.

    Solves ``max w.y`` subject to, for every participant, at most ``min(cap, free slots)``
    meetings, at most ``tables`` times the open slots overall, and ``0 <= y <= 1``. Every valid
    schedule is feasible for this LP, whatever its fairness or holes.

    Parameters
    ----------
    inst : Instance
    held : bool
        Required and locked meetings are in (``y = 1``): the bound holds for every schedule
        that places them all.
    cover : bool
        Every eligible participant has a meeting: the bound holds for every schedule without
        fairness misses.

    Returns
    -------
    float or None
        The bound in score units, ``None`` when HiGHS fails.
    """
    fixed = set(inst.required_feasible()) | set(inst.locked) if held else set()
    cand = [i for i in inst.candidates() if inst.weight[i] > 0 or i in fixed or cover]
    if not cand:
        return 0.0
    col = {i: k for k, i in enumerate(cand)}
    rows, cols, vals, rhs = [], [], [], []
    r = 0
    for q, ii in enumerate(inst.incident):
        ii = [i for i in ii if i in col]
        if not ii:
            continue
        free = set().union(*(inst.dom[i] for i in ii))
        limit = min(inst.cap[q], len(free))
        if len(ii) > limit:
            rows.extend([r] * len(ii))
            cols.extend(col[i] for i in ii)
            vals.extend([1.0] * len(ii))
            rhs.append(limit)
            r += 1
        if cover and q in inst.eligible:
            # At least one meeting: -sum(y) <= -1.
            rows.extend([r] * len(ii))
            cols.extend(col[i] for i in ii)
            vals.extend([-1.0] * len(ii))
            rhs.append(-1)
            r += 1
    open_slots = set().union(*(inst.dom[i] for i in cand))
    if len(cand) > inst.n_tables * len(open_slots):
        rows.extend([r] * len(cand))
        cols.extend(range(len(cand)))
        vals.extend([1.0] * len(cand))
        rhs.append(inst.n_tables * len(open_slots))
        r += 1
    c = -np.array([inst.weight[i] for i in cand], dtype=float) / SCORE_SCALE
    if r == 0 and not fixed:
        return float(-c.sum())
    a = coo_matrix((vals, (rows, cols)), shape=(max(r, 1), len(cand))).tocsr()
    if r == 0:
        rhs.append(0)
    bounds = [(1, 1) if i in fixed else (0, 1) for i in cand]
    res = linprog(c, A_ub=a, b_ub=np.array(rhs, dtype=float), bounds=bounds, method="highs")
    if res.status != 0:
        return None
    return float(-res.fun)


@dataclass
class Selection:
    """Meetings chosen by the b-matching relaxation, with its lexicographic optimum.

    Attributes
    ----------
    meetings : list of int
    values : dict of str to int
        ``required`` misses, ``fairness`` misses and integer ``score`` of the selection.
    optimal : bool
        Every level was solved to optimality, so ``values`` bound any schedule.
    seconds : float
    """

    meetings: list[int]
    values: dict[str, int]
    optimal: bool
    seconds: float


def select_meetings(
    inst: Instance, soft_required: bool, time_limit: float, fairness_zero: bool = False
) -> Selection | None:
    """Choose meetings with the degree-capped matching relaxation, lexicographically (HiGHS MIP).

    Levels: required misses (when ``soft_required``), then eligible participants without a
    meeting, then score; each level's optimum is fixed before the next. Slots are ignored, so the
    result bounds every schedule.

    Parameters
    ----------
    inst : Instance
    soft_required : bool
    time_limit : float
        Seconds for all levels together.
    fairness_zero : bool
        A schedule giving every eligible participant a meeting is known (e.g. the greedy one), so
        the fairness level is optimal at zero misses and becomes a constraint instead of a solve.

    Returns
    -------
    Selection or None
        ``None`` when HiGHS finds no solution in time.
    """
    t0 = time.perf_counter()
    cand = inst.candidates()
    n = len(cand)
    if n == 0:
        values = {"required": len(inst.required_feasible()), "fairness": len(inst.eligible)}
        return Selection([], {**values, "score": 0}, True, 0.0)
    col = {i: k for k, i in enumerate(cand)}
    elig = sorted(q for q in inst.eligible if any(i in col for i in inst.incident[q]))
    ecol = {q: n + k for k, q in enumerate(elig)}
    nv = n + len(elig)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lo_b: list[float] = []
    hi_b: list[float] = []

    def add_row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(lo_b)
        for c, v in entries:
            rows.append(r)
            cols.append(c)
            vals.append(v)
        lo_b.append(lo)
        hi_b.append(hi)

    for q, ii in enumerate(inst.incident):
        ii = [i for i in ii if i in col]
        if not ii:
            continue
        free = set().union(*(inst.dom[i] for i in ii))
        limit = min(inst.cap[q], len(free))
        if len(ii) > limit:
            add_row([(col[i], 1.0) for i in ii], -np.inf, limit)
        if q in ecol:
            # has[q] <= number of meetings of q
            add_row([(ecol[q], 1.0), *((col[i], -1.0) for i in ii)], -np.inf, 0.0)
    open_slots = set().union(*(inst.dom[i] for i in cand)) if cand else set()
    if n > inst.n_tables * len(open_slots):
        add_row([(k, 1.0) for k in range(n)], -np.inf, inst.n_tables * len(open_slots))
    lower = np.zeros(nv)
    upper = np.ones(nv)
    for i in inst.locked:
        lower[col[i]] = 1.0
    req = [i for i in inst.required_feasible() if i in col]
    if not soft_required:
        for i in req:
            lower[col[i]] = 1.0
    weight = np.array([inst.weight[i] for i in cand] + [0] * len(elig), dtype=float)
    levels: list[tuple[str, np.ndarray]] = []
    if soft_required and req:
        c = np.zeros(nv)
        for i in req:
            c[col[i]] = -1.0
        levels.append(("required", c))
    if elig and fairness_zero:
        lower[n:] = 1.0
    elif elig:
        c = np.zeros(nv)
        c[n:] = -1.0
        levels.append(("fairness", c))
    levels.append(("score", -weight))
    optimal = True
    x = None
    for _name, c in levels:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0.01:
            break
        a = coo_matrix((vals, (rows, cols)), shape=(len(lo_b), nv)).tocsr()
        cons = [LinearConstraint(a, np.array(lo_b), np.array(hi_b))] if lo_b else []
        res = milp(
            c,
            constraints=cons,
            integrality=np.ones(nv),
            bounds=Bounds(lower, upper),
            options={"time_limit": left, "mip_rel_gap": 1e-9},
        )
        if res.x is None:
            optimal = False
            break
        x = res.x
        optimal = optimal and res.status == 0
        # Keep this level at its value (objective coefficients are integers).
        value = round(float(c @ np.round(x)))
        add_row([(k, float(v)) for k, v in enumerate(c) if v], -np.inf, value)
    if x is None:
        return None
    chosen = [cand[k] for k in range(n) if x[k] > 0.5]
    has = {elig[k] for k in range(len(elig)) if x[n + k] > 0.5}
    values = {
        "required": sum(1 for i in inst.required_feasible() if i not in set(chosen)),
        "fairness": len(inst.eligible) - len(has),
        "score": sum(inst.weight[i] for i in chosen),
    }
    return Selection(chosen, values, optimal and len(levels) > 0, time.perf_counter() - t0)
