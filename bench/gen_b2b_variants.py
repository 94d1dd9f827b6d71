"""Held-out-like variants of the real B2B brokerage instances (``b2bsp-*.json``), seeded.

The solver is also measured on real instances it has never seen. These variants imitate them by
perturbing the shared real instances while keeping their structure:

- rewire meetings keeping every participant's number of meetings (double-edge swaps: ``a-b``,
  ``c-d`` become ``a-d``, ``c-b``; each meeting keeps its window; no meeting with oneself and no
  pair listed twice);
- move some unavailable slots and add a few, only where the participant keeps two free slots
  more than it has meetings (in each window it needs);
- shuffle the participants and the meetings (new ids, new order), so nothing tuned to the order
  of the originals carries over.

Usage::

    python bench/gen_b2b_variants.py OUTDIR             # write the variants
    python bench/gen_b2b_variants.py OUTDIR --measure   # and compare with plain CP-SAT
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "schedule"

#: (base instance, seed, share of meetings rewired, unavailable cells moved, cells added)
VARIANTS = [
    ("tic-12", 1, 0.3, 0, 0),
    ("tic-12", 2, 1.0, 0, 4),
    ("forum-13", 1, 0.2, 4, 2),
    ("forum-13", 2, 0.5, 4, 4),
    ("forum-13", 3, 1.0, 8, 4),
    ("forum-13", 4, 1.0, 0, 0),
    ("forum-13", 5, 0.7, 8, 8),
    ("forumt-14", 1, 0.2, 0, 2),
    ("forumt-14", 2, 0.6, 0, 4),
    # The crafted class (fewer tables, tighter windows): holes above the bound are needed.
    ("forum-13crafc", 1, 0.3, 4, 2),
    ("forum-13crafc", 2, 1.0, 8, 4),
    ("forum-13crafc", 3, 0.6, 0, 0),
    ("forumt-14crafe", 1, 0.3, 0, 2),
    ("tic-14crafc", 1, 0.5, 0, 2),
    ("ticf-14crafa", 1, 0.3, 0, 2),
    ("forum-14", 1, 0.3, 4, 2),
]


def _window_slots(prob: dict, window: str) -> set[int]:
    morning = prob.get("morning_slots") or prob["slots"]
    if window == "morning":
        return set(range(1, morning + 1))
    if window == "afternoon":
        return set(range(morning + 1, prob["slots"] + 1))
    return set(range(1, prob["slots"] + 1))


def _room_ok(prob: dict, pid: str, unavailable: set[int], meetings: list[dict]) -> bool:
    """Whether ``pid`` keeps two free slots more than its meetings, in each window it uses."""
    mine = [m for m in meetings if pid in (m["a"], m["b"])]
    free = set(range(1, prob["slots"] + 1)) - unavailable
    if len(free) < len(mine) + 2:
        return False
    for window in ("morning", "afternoon"):
        need = sum(1 for m in mine if m.get("window", "any") == window)
        if need and len(free & _window_slots(prob, window)) < need + 2:
            return False
    return True


def make_variant(base: str, seed: int, rewire: float, moved: int, added: int) -> dict:
    """Return one variant of ``b2bsp-<base>.json`` in the problem JSON format."""
    rng = random.Random(f"{base}/{seed}")
    prob = json.loads((DATA / f"b2bsp-{base}.json").read_text(encoding="utf-8"))
    meetings = [dict(m) for m in prob["meetings"]]
    pairs = {frozenset((m["a"], m["b"])) for m in meetings}
    swaps = int(rewire * len(meetings))
    tries = 0
    while swaps and tries < 100 * len(meetings):
        tries += 1
        m1, m2 = rng.sample(meetings, 2)
        if m1.get("window", "any") != m2.get("window", "any"):
            continue
        a, b, c, d = m1["a"], m1["b"], m2["a"], m2["b"]
        if rng.random() < 0.5:
            c, d = d, c
        new1, new2 = frozenset((a, d)), frozenset((c, b))
        if a == d or c == b or new1 in pairs or new2 in pairs or new1 == new2:
            continue
        pairs -= {frozenset((a, b)), frozenset((c, d))}
        pairs |= {new1, new2}
        m1["b"], m2["a"], m2["b"] = d, c, b
        swaps -= 1
    parts = {
        p["id"]: dict(p, unavailable=list(p.get("unavailable", []))) for p in prob["participants"]
    }
    ids = sorted(parts)
    busy = [q for q in ids if parts[q]["unavailable"]]
    for _ in range(moved):
        if not busy:
            break
        q = rng.choice(busy)
        old = set(parts[q]["unavailable"])
        s_old = rng.choice(sorted(old))
        s_new = rng.randint(1, prob["slots"])
        new = (old - {s_old}) | {s_new}
        if s_new not in old and _room_ok(prob, q, new, meetings):
            parts[q]["unavailable"] = sorted(new)
    for _ in range(added):
        q = rng.choice(ids)
        old = set(parts[q]["unavailable"])
        new = old | {rng.randint(1, prob["slots"])}
        if new != old and _room_ok(prob, q, new, meetings):
            parts[q]["unavailable"] = sorted(new)
    # New ids in a shuffled order; meetings shuffled too.
    order = ids[:]
    rng.shuffle(order)
    rename = {q: f"p{k + 1:03d}" for k, q in enumerate(order)}
    participants = [dict(parts[q], id=rename[q]) for q in order]
    rng.shuffle(meetings)
    out_meetings = [
        dict(m, id=f"m{k + 1}", a=rename[m["a"]], b=rename[m["b"]]) for k, m in enumerate(meetings)
    ]
    return dict(prob, participants=participants, meetings=out_meetings)


def variants() -> dict[str, dict]:
    """Return every variant by name (``b2bv-<base>-<seed>``)."""
    return {f"b2bv-{b}-{s}": make_variant(b, s, r, mv, ad) for b, s, r, mv, ad in VARIANTS}


def plain_cpsat(prob: dict, time_limit: float, workers: int = 2) -> tuple[int, int, float]:
    """Minimise holes with the solver's slot model and plain CP-SAT (default search, no hint).

    The baseline a held-out instance is compared with: every meeting placed (all are required
    here), holes minimised by CP-SAT's own (non-deterministic) multi-worker search.

    Returns
    -------
    (holes, bound, seconds): the best holes found (-1 if none), CP-SAT's lower bound, seconds.
    """
    from matchmaker.scheduling.solver.instance import compile_instance
    from matchmaker.scheduling.solver.model import SlotModel, SolverSettings
    from matchmaker.scheduling.solver.problem import Problem

    inst = compile_instance(Problem.from_dict(prob))
    model = SlotModel(inst, inst.candidates(), SolverSettings(workers, 0, False), place_all=True)
    t0 = time.perf_counter()
    done = model.run("holes", 1e9, time_limit)
    secs = time.perf_counter() - t0
    if done.solution is None or done.value is None:
        return -1, -1, secs
    return done.value, done.bound or 0, secs


def lower_bound(prob: dict) -> int:
    """Return the sum of the per-participant hole lower bounds (all meetings held)."""
    from matchmaker.scheduling.solver.instance import compile_instance
    from matchmaker.scheduling.solver.model import hole_lower_bounds
    from matchmaker.scheduling.solver.problem import Problem

    inst = compile_instance(Problem.from_dict(prob))
    return sum(hole_lower_bounds(inst, inst.candidates()).values())


def main(argv: list[str]) -> int:
    """Write the variants to ``argv[0]``; ``--measure`` also prints the plain CP-SAT result."""
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    for name, prob in variants().items():
        (out / f"{name}.json").write_text(json.dumps(prob, indent=1), encoding="utf-8")
        line = f"{name}: {len(prob['meetings'])} meetings, lower bound {lower_bound(prob)}"
        if "--measure" in argv:
            holes, bound, secs = plain_cpsat(prob, 30.0)
            line += f", plain CP-SAT 30 s: {holes} holes (bound {bound}, {secs:.1f} s)"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
