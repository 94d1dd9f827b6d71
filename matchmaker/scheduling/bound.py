"""Upper bound on the total score: the LP relaxation of the degree-capped matching (HiGHS)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from matchmaker.scheduling.instance import Instance
from matchmaker.scheduling.problem import SCORE_SCALE


def lp_score_bound(inst: Instance) -> float | None:
    """Bound the total score of any schedule from above.

    Solves ``max w.y`` subject to, for every participant, at most ``min(cap, free slots)``
    meetings, at most ``tables`` times the open slots overall, and ``0 <= y <= 1``. Every valid
    schedule is feasible for this LP, whatever its fairness or holes.

    Parameters
    ----------
    inst : Instance

    Returns
    -------
    float or None
        The bound in score units, ``None`` when HiGHS fails.
    """
    cand = [i for i in inst.candidates() if inst.weight[i] > 0]
    if not cand:
        return 0.0
    col = {i: k for k, i in enumerate(cand)}
    rows, cols, rhs = [], [], []
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
            rhs.append(limit)
            r += 1
    open_slots = set().union(*(inst.dom[i] for i in cand))
    if len(cand) > inst.n_tables * len(open_slots):
        rows.extend([r] * len(cand))
        cols.extend(range(len(cand)))
        rhs.append(inst.n_tables * len(open_slots))
        r += 1
    c = -np.array([inst.weight[i] for i in cand], dtype=float) / SCORE_SCALE
    if r == 0:
        return float(-c.sum())
    a = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(r, len(cand))).tocsr()
    res = linprog(c, A_ub=a, b_ub=np.array(rhs, dtype=float), bounds=(0, 1), method="highs")
    if res.status != 0:
        return None
    return float(-res.fun)
