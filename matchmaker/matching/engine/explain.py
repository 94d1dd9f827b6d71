"""Reasons and highlights: the concepts and stems two profiles share, named by their words.

A reason is a shared thesaurus concept ("Absatzprognose: Bedarfsprognose ↔ demand forecast") or
a shared stem ("Rechnungen ↔ Rechnung"); character n-grams never make a reason, so two words
only appear together when both carry the same concept or the same stem.  Reasons of many pairs
are computed at once with sparse element-wise products (:func:`pair_reasons`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import scipy.sparse as sp

from matchmaker.language.text import tokenize_spans
from matchmaker.language.thesaurus import Thesaurus
from matchmaker.matching.engine.features import ConceptTables, Vocabulary
from matchmaker.matching.engine.records import Profile, Reason, Span

__all__ = ["ReasonTables", "Side", "pair_reasons", "spans"]


@dataclass(frozen=True)
class Side:
    """Reason features of some profiles: weights and surfaces over (stems, then concepts).

    ``weight`` holds each feature's value in the profile vector, ``surface`` ``1 +`` the index
    into ``surfaces`` of the word (or phrase) carrying it; both have the same sparsity.
    """

    weight: sp.csr_matrix
    surface: sp.csr_matrix
    surfaces: list[str]

    def rows(self, index: np.ndarray) -> Side:
        """Return the features of the given rows."""
        return Side(self.weight[index], self.surface[index], self.surfaces)


@dataclass(frozen=True)
class ReasonTables:
    """Names of the reason features: stems, then concepts (id and label)."""

    stems: list[str]
    concept_ids: list[str]
    labels: list[str]

    @classmethod
    def from_thesaurus(cls, words: dict[str, int], thesaurus: Thesaurus) -> ReasonTables:
        """Name the word columns by stem and the concepts by their German label."""
        stems = [""] * len(words)
        for stem, col in words.items():
            stems[col] = stem
        labels = [label.split(" / ")[0].strip() for label in thesaurus.labels]
        return cls(stems, list(thesaurus.ids), labels)

    def side(
        self,
        X: sp.csr_matrix,
        word_cols: tuple[int, int],
        concept_cols: tuple[int, int],
        surface_word: sp.csr_matrix,
        surface_concept: sp.csr_matrix,
        surfaces: list[str],
    ) -> Side:
        """Cut the reason features out of profile vectors ``X``."""
        values = sp.hstack(
            [X[:, word_cols[0] : word_cols[1]], X[:, concept_cols[0] : concept_cols[1]]],
            format="csr",
            dtype=np.float64,
        )
        surface = sp.hstack([surface_word, surface_concept], format="csr")
        surface.sort_indices()
        mask = surface.copy()
        mask.data = np.ones_like(mask.data)
        weight = sp.csr_matrix(values.multiply(mask))
        weight.eliminate_zeros()
        weight.sort_indices()
        # keep only features with a non-zero weight in the vector (the two must align)
        present = weight.copy()
        present.data = np.ones_like(present.data)
        surface = sp.csr_matrix(surface.multiply(present))
        surface.sort_indices()
        return Side(weight, surface, surfaces)


def _aligned(a: sp.spmatrix, like: sp.csr_matrix) -> np.ndarray:
    """Values of ``a`` at the non-zeros of ``like`` (``a`` must be non-zero there)."""
    ind = like.copy()
    ind.data = np.ones_like(ind.data)
    out = sp.csr_matrix(a.multiply(ind))
    out.sort_indices()
    if out.nnz != like.nnz:
        raise AssertionError("reason features out of step with their surfaces")
    return out.data


def pair_reasons(
    a: Side, b: Side, tables: ReasonTables, a_is_sme: bool, max_reasons: int
) -> list[tuple[Reason, ...]]:
    """Reasons of the pairs ``(a.row i, b.row i)``, strongest first.

    A feature counts when both rows carry it; features below a tenth of the pair's strongest
    are dropped, and a pair of words is named once (by its strongest concept or stem).
    """
    n = a.weight.shape[0]
    P = sp.csr_matrix(a.weight.multiply(b.weight))
    P.eliminate_zeros()
    P.sort_indices()
    if P.nnz == 0 or max_reasons <= 0:
        return [()] * n
    sa = _aligned(a.surface, P).astype(np.int64)
    sb = _aligned(b.surface, P).astype(np.int64)
    lengths = np.diff(P.indptr)
    row = np.repeat(np.arange(n), lengths)
    value, feat = P.data, P.indices.astype(np.int64)
    n_word = len(tables.stems)
    # name a concept only where at least one word carries it itself ("Wartung ↔ predictive
    # maintenance"); one both sides reach only through narrower concepts is too vague
    named = (sa > 0) | (sb > 0)
    sa, sb = np.abs(sa) - 1, np.abs(sb) - 1
    # a tenth of each pair's strongest feature is the floor
    filled = np.flatnonzero(lengths)
    top = np.zeros(n)
    top[filled] = np.maximum.reduceat(value, P.indptr[filled])
    keep = (value >= 0.1 * top[row]) & named
    row, value, feat, sa, sb = (x[keep] for x in (row, value, feat, sa, sb))
    if not len(row):  # shared features only, none named by a word on either side
        return [()] * n
    # one reason per pair of words: its strongest feature (on exact ties the lower column,
    # a stem before a concept)
    n_a, n_b = len(a.surfaces) + 1, len(b.surfaces) + 1
    words = (row * n_a + sa) * n_b + sb
    order = np.argsort(words, kind="stable")
    grouped = words[order]
    bounds = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    best = np.maximum.reduceat(value[order], bounds)
    is_best = value[order] >= np.repeat(best, np.diff(np.r_[bounds, len(order)]))
    marked = np.flatnonzero(is_best)
    # the first best entry of every group
    group_of = np.searchsorted(bounds, marked, side="right") - 1
    first = order[marked[np.r_[True, group_of[1:] != group_of[:-1]]]]
    first.sort()
    row, value, feat, sa, sb = (x[first] for x in (row, value, feat, sa, sb))
    # strongest first within each row: one sort on row + a fraction below 1
    rank_key = row + 0.5 * (1.0 - value / top[row])
    order = np.argsort(rank_key, kind="stable")
    row, feat, sa, sb = (x[order] for x in (row, feat, sa, sb))
    starts = np.searchsorted(row, np.arange(n))
    keep = np.arange(len(row)) - starts[row] < max_reasons
    row, feat, sa, sb = row[keep], feat[keep], sa[keep], sb[keep]
    # distinct pairs of words give distinct texts: build each reason once
    key = (feat * n_a + sa) * n_b + sb
    unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    made = np.empty(len(unique), dtype=object)
    surf_a, surf_b = a.surfaces, b.surfaces
    for u, (f, x, y) in enumerate(
        zip(feat[first].tolist(), sa[first].tolist(), sb[first].tolist(), strict=True)
    ):
        wa, wb = (surf_a[x], surf_b[y]) if a_is_sme else (surf_b[y], surf_a[x])
        if f < n_word:
            made[u] = Reason("", tables.stems[f], wa, wb)
        else:
            made[u] = Reason(tables.concept_ids[f - n_word], tables.labels[f - n_word], wa, wb)
    reasons = made[inverse].tolist()
    bounds = np.searchsorted(row, np.arange(n + 1)).tolist()
    return [tuple(reasons[lo:hi]) for lo, hi in pairwise(bounds)]


@dataclass(frozen=True)
class _Occurrence:
    field: str
    start: int
    end: int
    features: frozenset[int]  # reason features (stems, then concepts) the words carry


def _occurrences(
    vocab: Vocabulary, tables: ConceptTables, profile: Profile, n_word: int
) -> list[_Occurrence]:
    """List the words of a profile's fields with the stems and concepts they carry."""
    lex = vocab.lexicon
    th = lex.thesaurus
    starts = {s[0] for s in th.phrases}
    fields = [("text", profile.text)]
    if profile.tags:
        fields.append(("tags", ", ".join(profile.tags)))
    if profile.sector:
        fields.append(("sector", profile.sector))
    out = []
    for field, text in fields:
        toks = tokenize_spans(text)
        ids = [lex.ids.get(t, -1) for t, _, _ in toks]
        stems = [lex.de_stem[t] if t >= 0 else "" for t in ids]
        phrase: dict[int, tuple[int, set[int]]] = {}
        cand = [pos for pos, s in enumerate(stems) if s in starts]
        for n in range(th.longest_phrase, 1, -1) if cand else ():
            for pos in cand:
                hit = th.phrases.get(tuple(stems[pos : pos + n])) if pos + n <= len(ids) else None
                if hit and not any(q in phrase for q in range(pos, pos + n)):
                    for q in range(pos, pos + n):
                        phrase[q] = (pos, set(hit))
        pos = 0
        while pos < len(toks):
            t = ids[pos]
            if pos in phrase:
                first, hit = phrase[pos]
                end = max(q for q in phrase if phrase[q][0] == first) + 1
                concepts = hit
                span = (toks[first][1], toks[end - 1][2])
                words = {vocab.tok_canon[ids[q]] for q in range(first, end) if ids[q] >= 0}
                pos = end
            else:
                concepts = {m[0] for m in lex.concepts[t]} if t >= 0 and not lex.stop[t] else set()
                span = (toks[pos][1], toks[pos][2])
                words = {vocab.tok_canon[t]} if t >= 0 else set()
                pos += 1
            closure = {b for c in concepts for b, _ in tables.closure[c]}
            feats = {w for w in words if w >= 0} | {n_word + c for c in closure}
            if feats:
                out.append(_Occurrence(field, span[0], span[1], frozenset(feats)))
    return out


def spans(
    vocab: Vocabulary,
    tables: ConceptTables,
    reason_tables: ReasonTables,
    profile: Profile,
    shared: dict[int, float],
) -> tuple[Span, ...]:
    """Spans of the words of ``profile`` that carry one of the ``shared`` features."""
    n_word = len(reason_tables.stems)
    found = set()
    for occ in _occurrences(vocab, tables, profile, n_word):
        hits = [f for f in occ.features if f in shared]
        if not hits:
            continue
        best = min(hits, key=lambda f: (-shared[f], f))
        label = reason_tables.stems[best] if best < n_word else reason_tables.labels[best - n_word]
        found.add(Span(occ.start, occ.end, label, occ.field))
    return tuple(sorted(found, key=lambda s: (s.field, s.start, s.label)))
