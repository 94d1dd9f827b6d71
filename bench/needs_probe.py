"""Score the full engine and variants on the development sets, SME→startup nDCG@5 per SME.

Usage: python bench/needs_probe.py ['name={"param": value, ...}' ...]   (SEEDS=n to average)

Fits each variant (engine parameters as JSON) on every real dev set (with the background corpus
of the other sets, as bench_matching.py does) and on the two written sets, and prints each
set's mean, the pooled real dev figure and a leave-one-set-out choice among the variants given.
It reads development sets only (no held-out file), and is a quick loop next to
``bench_matching.py --quality-only --dev-only`` and ``--cv-only``.

Negative result recorded with it (issue 12, branch engine17needs, 2026-12-06): weighting an
SME's *need sentences* (a sentence with a general German/English need cue: a lack, "fehlt",
"gesucht", "Mangel", "shortage"; a problem or effort, "aufwendig", "manuell", "struggle"; a
wish, "möchten", "soll", "want"; cue list written from general knowledge, prefixes of folded
tokens, lack words also inside compounds) does not carry over. Per-SME nDCG@5, pool of the
eleven real dev sets, mean of 5 seeds, need weight applied in the character, stem and latent
blocks (concept block and reasons unchanged): off 0.8249, weight 1.25 0.8260, 1.5 0.8259, 2.0
0.8261; leave-one-set-out among the four 0.8245 (below "off"); dev 0.892 and regression 0.924
unchanged. Seed 0 alone showed +0.003 (0.830 -> 0.833), which the 5-seed mean does not keep.
Also tried: the same weight in every block including concepts (1.5: -0.002, 2.0: -0.005, seed
0); in the concept block only (-0.002 to -0.004); self-description sentences of SMEs
("gegründet", "Familienbetrieb", "Filialen", "founded", "employees") down to 0.6 / 0.3 (0.000 /
-0.003); startups' company-news sentences (founding, funding, prizes) down to 0.6 / 0.3 (+0.001,
within the seed spread); need weighting for startups' sentences too (-0.002 against SMEs only);
trade concepts outside need sentences at 0.5 / 0.25 (-0.000 / -0.003, 3 seeds). A need x trade
interaction block (the outer product of an SME's need concepts and trade concepts, weight 0.1)
gave +0.0023 on the pool (5 seeds) but -0.003 on both written sets. Why so little: among the
SMEs whose top startup is wrong, the wrong and the best relevant startup share the same need
concepts (recruiting, staff, customer service) about as often as trades, so the errors are fine
choices among offers for the same need, not trades outweighing needs.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from bench.bench_matching import (
    QUALITY_SETS,
    REAL_DEV_SETS,
    _for_set,
    _per_sme_ndcg,
    choose_left_out,
)
from matchmaker.matching.evaluation import load_labelled

WRITTEN = ("dev", "held-out (regression)")


def main() -> None:
    variants = {"full": {}}
    for arg in sys.argv[1:]:
        name, _, params = arg.partition("=")
        variants[name] = json.loads(params)
    names = REAL_DEV_SETS + WRITTEN
    data = {n: load_labelled(QUALITY_SETS[n]) for n in names}
    per = {}
    for v, params in variants.items():
        t = time.time()
        per[v] = {
            n: _per_sme_ndcg(_for_set(params, n), *data[n], int(os.environ.get("SEEDS", "1")))
            for n in names
        }
        print(f"# {v} {time.time() - t:.0f}s", file=sys.stderr)
    head = "set".ljust(30) + "".join(v[:12].rjust(13) for v in variants)
    print(head)
    for n in names:
        print(n[:30].ljust(30) + "".join(f"{per[v][n].mean():13.3f}" for v in variants))
    pool = {v: np.concatenate([per[v][n] for n in REAL_DEV_SETS]) for v in variants}
    print("POOL".ljust(30) + "".join(f"{pool[v].mean():13.4f}" for v in variants))
    # leave one set out among the variants
    first = next(iter(variants))
    groups = np.concatenate([[n] * len(per[first][n]) for n in REAL_DEV_SETS])
    cv, picks = choose_left_out(pool, groups)
    for n in REAL_DEV_SETS:
        print(f"  LOSO {n[:28]:28} picks {picks[n]}")
    print("LOSO", round(float(cv.mean()), 4))


if __name__ == "__main__":
    main()
