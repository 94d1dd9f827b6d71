"""Probes of signals beyond the engine's blocks, on the real-text development sets only.

Usage: python bench/plateau_probes.py [--only NAME ...]

Each probe adds one signal to the default engine (or re-orders its lists) and reports nDCG@5
(SME→startup) on the nineteen real dev sets of ``bench_matching.py``: the mean over sets, and
how many sets gain or lose more than 0.005.  Anything learnt from labels is scored two ways:
leave one set out (LOSO), and "old → new" (learnt on real dev 1-11, scored on real dev 12-19).
The second split matters because the engine's own settings were chosen over many sessions on
the older sets: their in-sample figure (0.839) is far above the newer sets' (0.725), so LOSO
favours the engine there, while the newer sets stand for data the engine has not been tuned on.
No reporting-only (blind) set is read.

Decision rule, fixed before the runs: a signal ships only if LOSO gains at least +0.005 with
more sets up than down **and** old → new gains at least +0.01.

Results of this script, 2026-12-06 22:05 UTC (ninth session; engine of main 6dbbee5, seed 0,
corpus of 1,481 texts; mean nDCG@5 over the nineteen sets; engine alone 0.7909: older sets
0.8388, newer 0.7250):

=======================================================  ======  =========  ==============
probe                                                    real    up / down  old → new
=======================================================  ======  =========  ==============
bilingual dictionary (Ding) as extra synonym sets, w 1   0.7907  3 / 4
  ... weight 0.5                                         0.7904  1 / 3
  ... weight 1, stems in up to 4 sets                    0.7901  3 / 6
English texts also read in German (<= 2 translations)    0.7907  8 / 5
similar SMEs' scores (top 3), z-blend 0.1                0.7938  6 / 3
similar offers' scores (top 3), z-blend 0.1              0.7921  8 / 3
pairwise logistic ranker, 16 features (LOSO)             0.7942  8 / 9      0.725 → 0.740
  ... only features that fold into the vectors           0.7951  7 / 6      0.725 → 0.742
best sentence pair (char n-grams), z-blend 0.1           0.7934  9 / 7
  ... z-blend 0.2                                        0.7883  5 / 9
=======================================================  ======  =========  ==============

Scratch runs of the same session, not in this script: the app's own ``ReRanker`` (pointwise,
its blend chosen over viewers) trained on the labels of the top 20 per SME: LOSO 0.7812
(worse), old → new 0.725 → 0.737.  WordLlama's static token embeddings (PyPI ``wordllama``
0.4.0, Llama-2 vocabulary, 256 dimensions; not a project dependency) alone reach 0.313, below
character n-grams (0.548); added to the engine at 0.05 they give 0.7933, at 0.2 0.7669.

None meets the rule.  The learnt rankers gain on the newer sets (+0.015 to +0.025 here and
in the scratch runs) but lose as much when learnt on the newer sets and scored on the older
ones, and their LOSO gain is within seed noise.  Re-weighting the blocks inside the engine
instead (a scratch grid over ``semantic_weight``, ``concept_weight``, ``word_weight``,
``category_weight``, ``char_weight`` and ``hub_weight``) kept every setting within 0.006 of
the defaults on the older and the newer sets alike, except a heavier character block:

=============================  ===============  ============  ===========  ======  ======
engine setting (3 seeds)       pool, in sample  LOSO (grid)   sector CV    older   newer
=============================  ===============  ============  ===========  ======  ======
defaults (char 0.3, conc 0.4)  0.7899                                      0.8388  0.7250
char 1.0, concept 0.4          0.7949           picked 18/19  picked 14/15 0.8386  0.7367
char 1.0, concept 0.5          0.7938                                      0.8388  0.7352
grid of 9 char × concept       (choice)         0.7931        0.7921
=============================  ===============  ============  ===========  ======  ======

(older/newer: seed 0, mean over sets.)  Char 1.0 with concept 0.4 breaks three behaviour tests
(a need told as a story loses its trade cue, "invoice" ↔ "Rechnungen" falls below 0.2, an
overview page is no longer full); with concept 0.5 all 170 matching tests pass, the written dev
file moves 0.907 → 0.905, the regression file 0.925 → 0.926, the real pool's startup→SME
0.824 → 0.829.  The rule fixed before that run (pool gain ≥ +0.004, LOSO over the grid ≥ +0.003,
written sets within 0.01, startup→SME not lower by more than 0.005, all tests green) was missed
by a hair (pool +0.0039), so the defaults stayed at first.  After held-out 19-23 were retired
(twenty-four sets) the same rule was met (pool and LOSO +0.0045, picked in every fold) and char
1.0 / concept 0.5 became the defaults (bench/RESULTS.md, twelfth follow-up); the figures above
are of the engine before that change.  The remaining errors need knowledge no
lexical resource here carries: a lawyer's story of unanswered e-mails that an AI phone
answerer fits, an English text on retiring operators against a German offer on keeping their
knowledge.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matchmaker.matching.engine.estimator as estimator  # noqa: E402
from bench.bench_matching import QUALITY_SETS, REAL_DEV_SETS, _for_set  # noqa: E402
from matchmaker.language.synonyms import Synonyms, load_synonyms  # noqa: E402
from matchmaker.language.text import STOP_WORDS, fold  # noqa: E402
from matchmaker.matching.engine import MatchEngine  # noqa: E402
from matchmaker.matching.engine.features import BLOCKS, canonical_stem  # noqa: E402
from matchmaker.matching.evaluation import (  # noqa: E402
    _startup_text,
    evaluate_rankings,
    load_labelled,
)

DING = Path("/usr/share/trans/de-en")  # Debian package trans-de-en (GPL 2 or later)
OLD, NEW = REAL_DEV_SETS[:11], REAL_DEV_SETS[11:]
BRACKETS = re.compile(r"\{[^}]*\}|\[[^\]]*\]|\([^)]*\)|/[^/]*/|<[^>]*>")
WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+")
SENTENCE = re.compile(r"(?<=[.!?])\s+")
LABELS = ("ugs.", "übtr.", "slang", "coll.", "obs.", "veraltet", "pej.", "vulg.", "fig.")


class Fitted:
    """One real dev set with the default engine fitted on it."""

    def __init__(self, name: str, **params):
        self.smes, self.startups, self.qrels = load_labelled(QUALITY_SETS[name])
        self.engine = MatchEngine(**_for_set(params, name)).fit([*self.smes, *self.startups])
        self.rows, self.cols, self.S = self.engine.score_matrix("sme")
        self.grades = np.array(
            [[int(self.qrels.get(r, {}).get(c, 0)) for c in self.cols] for r in self.rows]
        )

    def ndcg(self, scores: np.ndarray) -> float:
        return evaluate_rankings(np.asarray(scores), self.rows, self.cols, self.qrels)["ndcg@5"]


def z(M: np.ndarray, axis: int = 1) -> np.ndarray:
    return (M - M.mean(axis, keepdims=True)) / (M.std(axis, keepdims=True) + 1e-9)


def report(label: str, base: dict, new: dict, old_new: tuple | None = None) -> None:
    d = np.array([new[n] - base[n] for n in REAL_DEV_SETS])
    line = (
        f"{label:55s} {np.mean(list(new.values())):.4f}  up {(d > 0.005).sum():2d} "
        f"down {(d < -0.005).sum():2d}"
    )
    if old_new:
        line += f"  old->new {old_new[0]:.3f} -> {old_new[1]:.3f}"
    print(line, flush=True)


# ------------------------------------------------------------------ unsupervised signals


def ding_pairs() -> list[tuple[list[str], list[str]]]:
    """Aligned (German words, English words) of the Ding dictionary's head senses."""
    out = []
    for line in DING.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or " :: " not in line:
            continue
        left, right = line.split(" :: ", 1)
        de_parts, en_parts = left.split(" | "), right.split(" | ")
        if len(de_parts) != len(en_parts):
            de_parts, en_parts = de_parts[:1], en_parts[:1]
        for de, en in zip(de_parts, en_parts, strict=True):
            if any(label in de + en for label in LABELS):
                continue
            words = []
            for side, english in ((de, False), (en, True)):
                terms = [BRACKETS.sub(" ", t).strip() for t in side.split(";")]
                if english:
                    terms = [t[3:] if t.startswith("to ") else t for t in terms]
                words.append([t for t in terms if WORD.fullmatch(t) and len(t) >= 4])
            if words[0] and words[1]:
                out.append((words[0], words[1]))
    return out


def ding_synsets(pairs) -> Synonyms:
    import Stemmer

    de, en = Stemmer.Stemmer("german"), Stemmer.Stemmer("english")

    def stems(words):
        folded = [w for w in map(fold, words) if w not in STOP_WORDS]
        return {
            canonical_stem(a, b)
            for a, b in zip(de.stemWords(folded), en.stemWords(folded), strict=True)
        }

    sets = {
        tuple(sorted(g | e))
        for g, e in ((stems(a), stems(b)) for a, b in pairs)
        if g and e and not (g | e) <= g and not (g | e) <= e
    }
    return Synonyms(sets)


class WithTranslations:
    """OpenThesaurus synsets plus the dictionary's, the latter scaled and with their own cap."""

    def __init__(self, extra: Synonyms, weight: float, max_senses: int):
        self.extra, self.weight, self.max_senses = extra, weight, max_senses

    def matrix(self, words, max_senses=None):
        base = load_synonyms().matrix(words, max_senses)
        extra = self.extra.matrix(words, self.max_senses) * self.weight
        return sp.csr_matrix(sp.hstack([base, extra]))


def probe_dictionary(base: dict) -> None:
    if not DING.exists():
        print(f"dictionary probes skipped: {DING} missing (apt-get install trans-de-en)")
        return
    pairs = ding_pairs()
    extra = ding_synsets(pairs)
    original = estimator.load_synonyms
    try:
        for weight, senses in ((1.0, 2), (0.5, 2), (1.0, 4)):
            estimator.load_synonyms = lambda w=weight, s=senses: WithTranslations(extra, w, s)
            scores = {n: (f := Fitted(n)).ndcg(f.S) for n in REAL_DEV_SETS}
            report(f"dictionary synsets, weight {weight}, <= {senses} senses", base, scores)
    finally:
        estimator.load_synonyms = original
    en2de = defaultdict(list)
    for de_words, en_words in pairs:
        for e in en_words:
            en2de[e.lower()] += [g for g in de_words[:2] if g not in en2de[e.lower()]]
    en_stop, de_stop = (
        {"the", "and", "of", "to", "in", "for", "is", "with", "we", "our"},
        {"der", "die", "das", "und", "zu", "den", "von", "mit", "ist", "wir"},
    )

    def english(text):
        words = [w.lower() for w in WORD.findall(text)]
        return sum(w in en_stop for w in words) > sum(w in de_stop for w in words)

    def expand(p):
        if not english(p.text):
            return p
        extra_words = [
            g
            for w in WORD.findall(p.text)
            for g in en2de.get(w.lower(), [])
            if 0 < len(en2de[w.lower()]) <= 2
        ]
        return replace(p, text=p.text + " " + " ".join(extra_words))

    scores = {}
    for n in REAL_DEV_SETS:
        smes, startups, qrels = load_labelled(QUALITY_SETS[n])
        smes, startups = [expand(p) for p in smes], [expand(p) for p in startups]
        S = MatchEngine(**_for_set({}, n)).fit([*smes, *startups]).score_matrix("sme")[2]
        scores[n] = evaluate_rankings(S, [p.ref for p in smes], [p.ref for p in startups], qrels)[
            "ndcg@5"
        ]
    report("English texts also read in German (<= 2 translations)", base, scores)


def probe_sentences(fitted: dict, base: dict) -> None:
    def sentences(text):
        return [s for s in SENTENCE.split(text) if len(s.split()) >= 4] or [text]

    best = {}
    for n, f in fitted.items():
        parts = [sentences(p.text) for p in f.smes] + [
            sentences(_startup_text(p)) for p in f.startups
        ]
        V = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True
        ).fit_transform([s for ss in parts for s in ss])
        bounds = np.cumsum([0] + [len(ss) for ss in parts])
        blocks = [V[a:b] for a, b in itertools.pairwise(bounds)]
        k = len(f.smes)
        best[n] = np.array([[(a @ b.T).max() for b in blocks[k:]] for a in blocks[:k]])
    for w in (0.1, 0.2):
        scores = {n: f.ndcg(z(f.S) + w * z(best[n])) for n, f in fitted.items()}
        report(f"best sentence pair, z-blend {w}", base, scores)


def probe_neighbours(fitted: dict, base: dict) -> None:
    def top(A, k=3):
        A = A.copy()
        np.fill_diagonal(A, 0)
        np.put_along_axis(A, np.argsort(-A, axis=1)[:, k:], 0, axis=1)
        return A

    for label, smooth in (
        ("similar SMEs' scores (top 3)", lambda f, X_s, X_o: top((X_s @ X_s.T).toarray()) @ f.S),
        (
            "similar offers' scores (top 3)",
            lambda f, X_s, X_o: f.S @ top((X_o @ X_o.T).toarray()).T,
        ),
    ):
        scores = {}
        for n, f in fitted.items():
            X = f.engine.X_
            X_s = X[[f.engine.index_[r] for r in f.rows]]
            X_o = X[[f.engine.index_[c] for c in f.cols]]
            scores[n] = f.ndcg(z(f.S) + 0.1 * z(smooth(f, X_s, X_o)))
        report(f"{label}, z-blend 0.1", base, scores)


# ------------------------------------------------------------------ learnt rankers


def pair_table(f: Fitted) -> np.ndarray:
    """Per pair: score, block products, the rest (hubness), row and column ranks/z/gaps."""
    X_s = f.engine.X_[[f.engine.index_[r] for r in f.rows]]
    X_o = f.engine.X_[[f.engine.index_[c] for c in f.cols]]
    parts, total = [f.S], np.zeros_like(f.S)
    for name in BLOCKS:
        lo, hi = f.engine.offsets_[name]
        block = (X_s[:, lo:hi] @ X_o[:, lo:hi].T).toarray()
        parts.append(block)
        total += block
    parts.append(f.S - total)
    for axis in (1, 0):
        ranks = np.argsort(np.argsort(-f.S, axis=axis, kind="stable"), axis=axis) + 1
        ordered = -np.sort(-f.S, axis=axis)
        first = np.expand_dims(np.take(ordered, 0, axis=axis), axis)
        second = np.expand_dims(np.take(ordered, min(1, f.S.shape[axis] - 1), axis=axis), axis)
        parts += [np.log(ranks), z(f.S, axis), f.S - first, f.S - second]
    return np.stack(parts, -1)


FOLDABLE = [0, *range(1, len(BLOCKS) + 2), len(BLOCKS) + 7, len(BLOCKS) + 8, len(BLOCKS) + 9]


def pairwise_ranker(train: list[str], tables: dict, fitted: dict, cols: list[int]) -> Callable:
    rng = np.random.default_rng(0)
    diffs, labels = [], []
    for n in train:
        T, G = tables[n][..., cols], fitted[n].grades
        for i in range(G.shape[0]):
            for a in np.flatnonzero(G[i] > 0):
                lower = np.flatnonzero(G[i] < G[i, a])
                for b in rng.choice(lower, min(15, len(lower)), replace=False):
                    diffs += [T[i, a] - T[i, b], T[i, b] - T[i, a]]
                    labels += [1, 0]
    D = np.array(diffs)
    scale = D.std(0) + 1e-9
    model = LogisticRegression(C=1.0, fit_intercept=False, max_iter=3000).fit(D / scale, labels)
    w = model.coef_.ravel() / scale
    return lambda n: tables[n][..., cols] @ w


def probe_rankers(fitted: dict, base: dict) -> None:
    tables = {n: pair_table(f) for n, f in fitted.items()}
    for label, cols in (
        ("pairwise ranker, all features", list(range(tables[OLD[0]].shape[-1]))),
        ("pairwise ranker, foldable features", FOLDABLE),
    ):
        loso = {}
        for held in REAL_DEV_SETS:
            score = pairwise_ranker([n for n in REAL_DEV_SETS if n != held], tables, fitted, cols)
            loso[held] = fitted[held].ndcg(score(held))
        score = pairwise_ranker(list(OLD), tables, fitted, cols)
        old_new = (
            np.mean([base[n] for n in NEW]),
            np.mean([fitted[n].ndcg(score(n)) for n in NEW]),
        )
        report(label, base, loso, old_new)


PROBES = {
    "dictionary": lambda fitted, base: probe_dictionary(base),
    "sentences": probe_sentences,
    "neighbours": probe_neighbours,
    "rankers": probe_rankers,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(PROBES), default=sorted(PROBES))
    args = parser.parse_args()
    fitted = {n: Fitted(n) for n in REAL_DEV_SETS}
    base = {n: f.ndcg(f.S) for n, f in fitted.items()}
    old, new = np.mean([base[n] for n in OLD]), np.mean([base[n] for n in NEW])
    print(f"engine alone: {np.mean(list(base.values())):.4f} (old {old:.4f}, new {new:.4f})")
    for name in args.only:
        PROBES[name](fitted, base)


if __name__ == "__main__":
    main()
