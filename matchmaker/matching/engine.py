"""Matching engine: rank AI startups for SMEs (and SMEs for startups) from free text.

Pure scikit-learn/numpy/scipy; no Flask, no database.  The app builds :class:`Profile` objects,
fits one :class:`MatchEngine` per change of the profiles, and asks it for suggestions.

Interface
---------
``Profile(ref, kind, text, name="", sector="", categories=(), tags=())``
    ``kind`` is ``"sme"`` or ``"startup"``; ``text`` is the SME's needs, or the startup's offering
    plus its solutions' titles/descriptions; ``categories`` are use-case codes from
    :data:`CATEGORY_CODES` (an SME's interests, a startup's categories); ``tags`` are keywords.
``MatchEngine(**params).fit(profiles) -> MatchEngine``
    Learns vocabulary, IDF weights and one vector per profile.
``engine.suggest(ref, k=10) -> list[Suggestion]``
    Best profiles of the *other* kind for one profile, best first, scores >= ``min_score``.
``engine.suggest_text(text, kind, k=10, categories=(), tags=(), sector="") -> list[Suggestion]``
    The same for an ad-hoc text (``kind`` is the kind of the querying side).
``engine.top_k_all(k=10, direction="sme") -> dict[ref, list[Suggestion]]``
    ``"sme"``: every SME -> startups; ``"startup"``: every startup -> SMEs.  Vectorised (sparse
    products in row blocks); ``top_k_both`` returns both directions at once.
``engine.score_pair(ref_a, ref_b) -> float`` and ``engine.score_matrix(direction)``.
``engine.explain(ref_a, ref_b) -> Explanation``
    Score, reasons and, for both profiles, the character spans ``Span(start, end, label,
    field)`` of the words that carry shared concepts (``field`` is ``"text"``, ``"tags"`` or
    ``"sector"``; for tags, ``start``/``end`` index into ``", ".join(tags)``).

``Suggestion(ref, score, reasons)``: ``score`` in [0, 1]; ``reasons`` are at most
``max_reasons`` plain-language shared concepts, e.g. ``"Eingangsrechnungen ↔ Belegerfassung"``
(SME-side word ↔ startup-side word) or one word when both sides use it.

How the score works
-------------------
Each profile becomes four L2-normalised TF-IDF blocks: character n-grams of its words (typos,
compounds, inflection), stemmed words plus German compound parts (Snowball German and English),
thesaurus concepts (bilingual concept groups, e.g. "Eingangsrechnung" and "invoice" both give
the concept ``invoice``), and use-case categories (explicit codes plus codes implied by concepts).
The score is the weighted mean of the four cosine similarities, so it lies in [0, 1].  Stop words
of both languages and generic business filler ("Daten", "Lösung", "digital", "KI") are dropped
from the word and character blocks.  Tags and sector count as extra text with their own weight.

The thesaurus is a data file (``thesaurus.txt`` next to this module, format described in its
header); pass ``thesaurus=`` to replace it or ``extra_thesaurus=`` to extend/override groups.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from matchmaker.matching.text import (
    CATEGORY_CODES,
    Lexicon,
    Thesaurus,
    load_thesaurus,
    tokenize,
    tokenize_spans,
)

__all__ = [
    "CATEGORY_CODES",
    "Explanation",
    "MatchEngine",
    "Profile",
    "Span",
    "Suggestion",
    "top_k_pairs",
]

KINDS = ("sme", "startup")
_BLOCKS = ("char", "word", "concept", "category")


@dataclass(frozen=True)
class Profile:
    """One SME or startup as the engine sees it."""

    ref: str
    kind: str
    text: str
    name: str = ""
    sector: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


class Suggestion(NamedTuple):
    """A suggested profile of the other kind, with its score and plain-language reasons."""

    ref: str
    score: float
    reasons: tuple[str, ...]


class Span(NamedTuple):
    """Characters ``[start, end)`` of one field of a profile that carry a shared concept."""

    start: int
    end: int
    label: str
    field: str = "text"


@dataclass(frozen=True)
class Explanation:
    """Why two profiles match: score, reasons, and highlight spans in both profiles."""

    ref_a: str
    ref_b: str
    score: float
    reasons: tuple[str, ...]
    spans_a: tuple[Span, ...]
    spans_b: tuple[Span, ...]
    shared_categories: tuple[str, ...]


@dataclass
class _Segments:
    """Token occurrences of a batch of profiles: one segment per text, tag or sector."""

    doc: np.ndarray  # profile row of each token occurrence
    tok: np.ndarray  # token id
    seg: np.ndarray  # segment id (phrases never cross segments)
    weight: np.ndarray  # field weight of the occurrence
    n_docs: int


class MatchEngine(BaseEstimator):
    """Match SMEs and AI startups by TF-IDF over characters, stems, concepts and categories.

    Parameters
    ----------
    ngram_range : tuple of int, default=(3, 5)
        Lengths of the character n-grams taken inside each word (``char_wb`` style).
    char_weight, word_weight, concept_weight, category_weight : float
        Weights of the four similarity blocks; the score is their weighted mean.
    tag_weight : float, default=1.0
        Weight of a tag's words relative to a word of the free text.
    sector_weight : float, default=0.5
        Weight of the sector's words.
    compound_weight : float, default=0.5
        Weight of a German compound's parts as extra word features.
    category_text_weight : float, default=0.5
        Weight of categories implied by thesaurus concepts in the text, relative to an
        explicit category code.
    char_max_df : float, default=0.3
        Character n-grams found in more than this share of profiles are dropped (they carry
        almost no evidence and dominate the cost of the similarity products).
    char_top_n : int or None, default=100
        Keep only the strongest ``char_top_n`` character n-grams (by TF-IDF weight) of each
        profile; bounds the cost of the all-pairs products at little loss in quality.
    thesaurus : str, Path, mapping or None, default=None
        Thesaurus to use instead of the packaged ``thesaurus.txt``.
    extra_thesaurus : str, Path, mapping or None, default=None
        Additional groups or overrides merged on top of ``thesaurus``.
    min_score : float, default=0.05
        Suggestions scoring below this are left out.
    max_reasons : int, default=3
        Maximum number of reasons per suggestion.
    block_size : int, default=2048
        Rows per block in the all-pairs products (bounds memory).

    Attributes
    ----------
    refs_ : list of str
        Profile references in fit order.
    kinds_ : ndarray of str
        Kind of each profile.
    X_ : scipy.sparse.csr_matrix of shape (n_profiles, n_features), float32
        Profile vectors; the dot product of two rows is their score.
    thesaurus_ : Thesaurus
        The compiled thesaurus.
    """

    def __init__(
        self,
        *,
        ngram_range=(3, 5),
        char_weight=0.3,
        word_weight=0.2,
        concept_weight=0.4,
        category_weight=0.1,
        tag_weight=1.0,
        sector_weight=0.5,
        compound_weight=0.5,
        category_text_weight=0.5,
        char_max_df=0.3,
        char_top_n=100,
        thesaurus=None,
        extra_thesaurus=None,
        min_score=0.05,
        max_reasons=3,
        block_size=2048,
    ):
        self.ngram_range = ngram_range
        self.char_weight = char_weight
        self.word_weight = word_weight
        self.concept_weight = concept_weight
        self.category_weight = category_weight
        self.tag_weight = tag_weight
        self.sector_weight = sector_weight
        self.compound_weight = compound_weight
        self.category_text_weight = category_text_weight
        self.char_max_df = char_max_df
        self.char_top_n = char_top_n
        self.thesaurus = thesaurus
        self.extra_thesaurus = extra_thesaurus
        self.min_score = min_score
        self.max_reasons = max_reasons
        self.block_size = block_size

    # ------------------------------------------------------------------ fitting

    def fit(self, profiles: Iterable[Profile], y=None) -> MatchEngine:
        """Fit vocabulary, IDF weights and profile vectors.

        Parameters
        ----------
        profiles : iterable of Profile
            All SMEs and startups; ``ref`` must be unique.
        y : None
            Ignored.

        Returns
        -------
        self : MatchEngine
        """
        profiles = list(profiles)
        refs = [p.ref for p in profiles]
        if len(set(refs)) != len(refs):
            raise ValueError("profile refs must be unique")
        for p in profiles:
            if p.kind not in KINDS:
                raise ValueError(f"profile {p.ref!r}: kind must be 'sme' or 'startup'")
        sources = (
            [self.thesaurus, self.extra_thesaurus] if self.extra_thesaurus else [self.thesaurus]
        )
        self.thesaurus_ = _load(*sources)
        self._lock = threading.Lock()
        self.lexicon_ = Lexicon(self.thesaurus_)
        self.profiles_ = profiles
        self.refs_ = refs
        self.index_ = {r: i for i, r in enumerate(refs)}
        self.kinds_ = np.array([p.kind for p in profiles])
        self.rows_ = {k: np.flatnonzero(self.kinds_ == k) for k in KINDS}
        self._word_vocab: dict[str, int] = {}
        self._char_vocab: dict[str, int] = {}
        self._tok_word: list[list[tuple[int, float]]] = []
        self._tok_char: list[list[int]] = []
        self._concept_matrices()

        segs = self._segments(profiles)
        counts = self._counts(segs, profiles, grow=True)
        n = len(profiles)
        char = counts["char"]
        df = np.bincount(char.indices, minlength=char.shape[1])
        # the cut is for large corpora; in small ones every shared n-gram counts
        self.char_keep_ = np.flatnonzero(df <= max(10.0, self.char_max_df * n))
        counts["char"] = char[:, self.char_keep_]
        self.char_shared_ = df[self.char_keep_] >= 2
        self.tfidf_ = {}
        blocks = []
        for name in _BLOCKS:
            tf = counts[name].tocsr().astype(np.float64)
            tf.data = np.log1p(tf.data)
            if tf.shape[1] == 0:  # e.g. only stop words: nothing to weight
                self.tfidf_[name] = None
                blocks.append(tf)
                continue
            tr = TfidfTransformer(norm=None, smooth_idf=True).fit(tf)
            self.tfidf_[name] = tr
            blocks.append(self._prune(name, self._weigh(name, normalize(tr.transform(tf)))))
        self.X_ = self._stack(blocks)
        self.X_.sort_indices()
        return self

    def _weigh(self, name: str, block: sp.spmatrix) -> sp.csr_matrix:
        """Shrink a concept vector whose strongest concept is a low-weight (generic) one.

        Group weights act before normalisation; a profile whose only concepts are generic
        ("KI", weight 0.1) would still get a unit vector, so it is scaled by its largest
        group weight (capped at 1).
        """
        block = sp.csr_matrix(block)
        if name != "concept" or block.nnz == 0:
            return block
        present = block.copy()
        present.data = self.concept_scale_[present.indices]
        confidence = np.minimum(present.max(axis=1).toarray().ravel(), 1.0)
        return sp.diags(confidence) @ block

    def _prune(self, name: str, block: sp.spmatrix) -> sp.csr_matrix:
        """Keep the ``char_top_n`` strongest character n-grams per profile."""
        block = sp.csr_matrix(block)
        n = self.char_top_n
        if name != "char" or n is None or block.shape[0] == 0:
            return block
        lengths = np.diff(block.indptr)
        # n-grams of a single fitted profile cannot contribute to any fitted pair: drop them
        # first, then keep each row's strongest n (values >= the row's n-th largest); rows are
        # not renormalised, so scores stay cosines minus the pruned mass
        keep = self.char_shared_[block.indices]
        data = np.where(keep, block.data, 0.0)
        pos = np.arange(block.nnz) - np.repeat(block.indptr[:-1], lengths)
        padded = np.zeros((block.shape[0], max(int(lengths.max(initial=0)), n)))
        padded[np.repeat(np.arange(block.shape[0]), lengths), pos] = data
        threshold = -np.partition(-padded, n - 1, axis=1)[:, n - 1]
        keep &= data >= np.repeat(threshold, lengths)
        keep &= data > 0
        rows = np.repeat(np.arange(block.shape[0]), lengths)[keep]
        return sp.csr_matrix((block.data[keep], (rows, block.indices[keep])), shape=block.shape)

    def _concept_matrices(self) -> None:
        th = self.thesaurus_
        n_c = len(th.groups)
        rows, cols = [], []
        for g in th.groups:
            for b in g.broader:
                rows.append(th.index[g.id])
                cols.append(th.index[b])
        adj = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_c, n_c))
        # a concept also counts, at half weight, for its broader concepts (two levels)
        self.broader_ = (sp.identity(n_c, format="csr") + 0.5 * adj + 0.25 * (adj @ adj)).tocsr()
        self.concept_scale_ = np.asarray(th.weights, dtype=np.float64)
        cat_index = {c: i for i, c in enumerate(CATEGORY_CODES)}
        rows, cols = [], []
        for ci, g in enumerate(th.groups):
            for c in g.categories:
                rows.append(ci)
                cols.append(cat_index[c])
        self.concept_cat_ = sp.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(n_c, len(CATEGORY_CODES))
        )

    def _stack(self, blocks: list[sp.spmatrix]) -> sp.csr_matrix:
        weights = np.array([getattr(self, f"{b}_weight") for b in _BLOCKS], dtype=np.float64)
        if weights.sum() <= 0:
            raise ValueError("at least one block weight must be positive")
        weights = weights / weights.sum()
        # blocks arrive L2-normalised (the character block possibly pruned afterwards)
        scaled = [math.sqrt(w) * sp.csr_matrix(b) for w, b in zip(weights, blocks, strict=True)]
        return sp.hstack(scaled, format="csr", dtype=np.float32)

    # ------------------------------------------------------------------ featurisation

    def _segments(self, profiles: list[Profile]) -> _Segments:
        """Tokenise all fields of all profiles and register new tokens in the lexicon."""
        seg_tokens: list[list[str]] = []
        seg_doc: list[int] = []
        seg_w: list[float] = []
        for i, p in enumerate(profiles):
            seg_tokens.append(tokenize(p.text))
            seg_doc.append(i)
            seg_w.append(1.0)
            for tag in p.tags:
                seg_tokens.append(tokenize(tag))
                seg_doc.append(i)
                seg_w.append(self.tag_weight)
            if p.sector:
                seg_tokens.append(tokenize(p.sector))
                seg_doc.append(i)
                seg_w.append(self.sector_weight)
        lex = self.lexicon_
        with self._lock:
            before = len(lex.tokens)
            lex.add(t for toks in seg_tokens for t in toks)
            lex.split_compounds(range(before, len(lex.tokens)))
        ids = lex.ids
        lengths = np.fromiter((len(t) for t in seg_tokens), dtype=np.int64, count=len(seg_tokens))
        tok = np.fromiter(
            (ids[t] for toks in seg_tokens for t in toks), dtype=np.int64, count=int(lengths.sum())
        )
        seg = np.repeat(np.arange(len(seg_tokens)), lengths)
        return _Segments(
            doc=np.asarray(seg_doc, dtype=np.int64)[seg],
            tok=tok,
            seg=seg,
            weight=np.asarray(seg_w, dtype=np.float64)[seg],
            n_docs=len(profiles),
        )

    def _token_features(self, n_tokens: int, grow: bool) -> None:
        """Compute word and character features of tokens not featurised yet."""
        lex = self.lexicon_
        lo, hi = self.ngram_range
        wv, cv = self._word_vocab, self._char_vocab
        for t in range(len(self._tok_word), n_tokens):
            if lex.stop[t]:
                self._tok_word.append([])
                self._tok_char.append([])
                continue
            d, e = lex.de_stem[t], lex.en_stem[t]
            feats = {_canonical(d, e): 1.0}
            for part in lex.parts[t]:
                feats.setdefault(part, self.compound_weight)
            words = []
            for stem, w in feats.items():
                col = wv.get(stem)
                if col is None and grow:
                    col = wv[stem] = len(wv)
                if col is not None:
                    words.append((col, w))
            self._tok_word.append(words)
            padded = f" {lex.folded[t]} "
            grams = {
                padded[i : i + n] for n in range(lo, hi + 1) for i in range(len(padded) - n + 1)
            }
            chars = []
            for g in grams:
                col = cv.get(g)
                if col is None and grow:
                    col = cv[g] = len(cv)
                if col is not None:
                    chars.append(col)
            self._tok_char.append(chars)

    def _counts(
        self, segs: _Segments, profiles: list[Profile], grow: bool
    ) -> dict[str, sp.csr_matrix]:
        """Raw (weighted) counts of every block for the profiles in ``segs``."""
        lex = self.lexicon_
        n_tok = len(lex.tokens)
        with self._lock:
            self._token_features(n_tok, grow)
        n_docs = segs.n_docs
        D = sp.csr_matrix(
            (segs.weight, (segs.doc, segs.tok)), shape=(n_docs, n_tok), dtype=np.float64
        )
        D.sum_duplicates()
        used = np.unique(segs.tok)

        def token_matrix(rows_of, n_cols):
            r, c, v = [], [], []
            for t in used:
                for col, w in rows_of(t):
                    r.append(t)
                    c.append(col)
                    v.append(w)
            return sp.csr_matrix((v, (r, c)), shape=(n_tok, n_cols), dtype=np.float64)

        W_word = token_matrix(lambda t: self._tok_word[t], len(self._word_vocab))
        W_char = token_matrix(
            lambda t: ((c, 1.0) for c in self._tok_char[t]), len(self._char_vocab)
        )
        n_c = len(self.thesaurus_.groups)
        K = token_matrix(lambda t: ((c, 1.0) for c in {m[0] for m in lex.concepts[t]}), n_c)
        phrase_counts, covered = self._phrases(segs)
        concepts = (D - covered) @ K + phrase_counts
        concepts = (concepts @ self.broader_).tocsr()
        concepts = concepts @ sp.diags(self.concept_scale_)
        implied = (concepts @ self.concept_cat_).tocsr()
        peak = implied.max(axis=1).toarray().ravel()
        peak[peak == 0] = 1.0
        implied = sp.diags(self.category_text_weight / peak) @ implied
        explicit = _explicit_categories(profiles)
        counts = {
            "char": (D @ W_char).tocsr(),
            "word": (D @ W_word).tocsr(),
            "concept": sp.csr_matrix(concepts),
            "category": (implied + explicit).tocsr(),
        }
        return counts

    def _phrases(self, segs: _Segments) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Find multi-word thesaurus phrases; return phrase concept counts and covered tokens."""
        th = self.thesaurus_
        lex = self.lexicon_
        n_tok = len(lex.tokens)
        n_c = len(th.groups)
        empty = (
            sp.csr_matrix((segs.n_docs, n_c)),
            sp.csr_matrix((segs.n_docs, n_tok)),
        )
        if not th.phrases or len(segs.tok) < 2:
            return empty
        stem_ids: dict[str, int] = {}
        tok_stem = np.fromiter(
            (stem_ids.setdefault(s, len(stem_ids)) for s in lex.de_stem),
            dtype=np.int64,
            count=n_tok,
        )
        first: dict[int, list[tuple[tuple[int, ...], set[int]]]] = defaultdict(list)
        size = len(stem_ids) + 1
        for stems, concepts in th.phrases.items():
            if all(s in stem_ids for s in stems):
                key = tuple(stem_ids[s] for s in stems)
                first[key[0] * size + key[1]].append((key, concepts))
        if not first:
            return empty
        s = tok_stem[segs.tok]
        bigram = s[:-1] * size + s[1:]
        same = segs.seg[:-1] == segs.seg[1:]
        cand = np.flatnonzero(np.isin(bigram, np.fromiter(first, dtype=np.int64)) & same)
        pr, pc, pv = [], [], []
        cov: dict[int, float] = {}
        n = len(s)
        for pos in cand.tolist():
            for key, concepts in first[int(bigram[pos])]:
                end = pos + len(key)
                if end > n or segs.seg[end - 1] != segs.seg[pos]:
                    continue
                if len(key) > 2 and tuple(s[pos:end].tolist()) != key:
                    continue
                for c in concepts:
                    pr.append(segs.doc[pos])
                    pc.append(c)
                    pv.append(segs.weight[pos])
                for q in range(pos, end):
                    cov[q] = segs.weight[q]
        phrase_counts = sp.csr_matrix((pv, (pr, pc)), shape=(segs.n_docs, n_c))
        if cov:
            q = np.fromiter(cov, dtype=np.int64)
            covered = sp.csr_matrix(
                (np.fromiter(cov.values(), dtype=np.float64), (segs.doc[q], segs.tok[q])),
                shape=(segs.n_docs, n_tok),
            )
        else:
            covered = empty[1]
        return phrase_counts, covered

    def _transform(self, profiles: list[Profile]) -> sp.csr_matrix:
        """Vectorise new profiles with the fitted vocabulary and IDF weights."""
        segs = self._segments(profiles)
        counts = self._counts(segs, profiles, grow=False)
        counts["char"] = counts["char"][:, self.char_keep_]
        blocks = []
        for name in _BLOCKS:
            tf = counts[name].tocsr().astype(np.float64)
            tf.data = np.log1p(tf.data)
            tr = self.tfidf_[name]
            blocks.append(
                tf
                if tr is None
                else self._prune(name, self._weigh(name, normalize(tr.transform(tf))))
            )
        return self._stack(blocks)

    # ------------------------------------------------------------------ scoring

    def _side(self, direction: str) -> tuple[np.ndarray, np.ndarray]:
        if direction not in KINDS:
            raise ValueError("direction must be 'sme' or 'startup'")
        other = "startup" if direction == "sme" else "sme"
        return self.rows_[direction], self.rows_[other]

    def score_matrix(self, direction: str = "sme") -> tuple[list[str], list[str], np.ndarray]:
        """Score every profile of ``direction`` against every profile of the other kind.

        Parameters
        ----------
        direction : {"sme", "startup"}
            Kind of the querying side (rows).

        Returns
        -------
        row_refs, col_refs : list of str
            References of rows and columns, in fit order.
        scores : ndarray of shape (n_rows, n_cols), float32
            Dense score matrix; meant for evaluation-sized data.
        """
        check_is_fitted(self, "X_")
        rows, cols = self._side(direction)
        scores = (self.X_[rows] @ self.X_[cols].T).toarray()
        return [self.refs_[i] for i in rows], [self.refs_[j] for j in cols], scores

    def score_pair(self, ref_a: str, ref_b: str) -> float:
        """Return the score of two fitted profiles, in [0, 1]."""
        check_is_fitted(self, "X_")
        a, b = self.index_[ref_a], self.index_[ref_b]
        return float(min(1.0, self.X_[a].multiply(self.X_[b]).sum()))

    def _suggestions(self, q_row, q_vec, cand_rows, idx, vals, q_kind, q_doc):
        out = []
        for j, v in zip(idx, vals, strict=True):
            if v < self.min_score or v <= 0:
                break
            c = cand_rows[j]
            reasons = self._reasons(q_vec, q_doc, q_kind, self._row(c), self._doc(c))
            out.append(Suggestion(self.refs_[c], float(min(v, 1.0)), reasons))
        return out

    def suggest(self, ref: str, k: int = 10) -> list[Suggestion]:
        """Suggest the best profiles of the other kind for one fitted profile.

        Parameters
        ----------
        ref : str
            Reference of a fitted profile.
        k : int, default=10
            Maximum number of suggestions.

        Returns
        -------
        list of Suggestion
            Best first; only scores >= ``min_score``.
        """
        check_is_fitted(self, "X_")
        i = self.index_[ref]
        kind = self.kinds_[i]
        _, cand = self._side(kind)
        q = self.X_[i]
        idx, vals = _exact_top(self._candidate_scores(q, kind), k)[0]
        return self._suggestions(i, self._row(i), cand, idx, vals, kind, self._doc(i))

    def suggest_text(
        self,
        text: str,
        kind: str,
        k: int = 10,
        *,
        categories: tuple[str, ...] = (),
        tags: tuple[str, ...] = (),
        sector: str = "",
    ) -> list[Suggestion]:
        """Suggest fitted profiles of the other kind for an ad-hoc text.

        Parameters
        ----------
        text : str
            Free text of the querying side (needs of an SME or offering of a startup).
        kind : {"sme", "startup"}
            Kind of the querying side.
        k : int, default=10
            Maximum number of suggestions.
        categories, tags, sector
            Optional structured fields, as in :class:`Profile`.

        Returns
        -------
        list of Suggestion
        """
        check_is_fitted(self, "X_")
        if kind not in KINDS:
            raise ValueError("kind must be 'sme' or 'startup'")
        profile = Profile(
            "", kind, text, sector=sector, categories=tuple(categories), tags=tuple(tags)
        )
        q = self._transform([profile])
        _, cand = self._side(kind)
        idx, vals = _exact_top(self._candidate_scores(q, kind), k)[0]
        q = sp.csr_matrix(q)
        q.sort_indices()
        q_vec = (q.indices, q.data)
        return self._suggestions(None, q_vec, cand, idx, vals, kind, self._analyse(profile))

    def _candidate_scores(self, q: sp.csr_matrix, kind: str) -> np.ndarray:
        """Scores of one query row against all candidates, as :func:`top_k_pairs` computes them.

        Summed in float64 and rounded to float32, so they equal the batch scores exactly.
        """
        cache = self.__dict__.setdefault("_cand_cache", {})
        if kind not in cache:
            _, cand = self._side(kind)
            cache[kind] = self.X_[cand].T.tocsr().astype(np.float64)
        q = sp.csr_matrix(q, dtype=np.float64)
        return (q @ cache[kind]).toarray().astype(np.float32)

    def top_k_all(
        self, k: int = 10, direction: str = "sme", *, reasons: bool = True
    ) -> dict[str, list[Suggestion]]:
        """Suggest the top ``k`` for every profile of one kind.

        Parameters
        ----------
        k : int, default=10
            Suggestions per profile.
        direction : {"sme", "startup"}
            ``"sme"``: every SME -> startups; ``"startup"``: every startup -> SMEs.
        reasons : bool, default=True
            Compute reasons (the costly part for large batches; ``False`` leaves them empty).

        Returns
        -------
        dict
            Reference -> list of Suggestion, best first (same as :meth:`suggest`).
        """
        check_is_fitted(self, "X_")
        rows, cand = self._side(direction)
        found, _ = top_k_pairs(self.X_[rows], self.X_[cand], k, block_size=self.block_size)
        return self._collect(rows, cand, found, direction, reasons)

    def top_k_both(
        self, k: int = 10, *, reasons: bool = True
    ) -> tuple[dict[str, list[Suggestion]], dict[str, list[Suggestion]]]:
        """Return ``(top_k_all(k, "sme"), top_k_all(k, "startup"))`` from one pass of products."""
        check_is_fitted(self, "X_")
        smes, startups = self.rows_["sme"], self.rows_["startup"]
        by_sme, by_startup = top_k_pairs(
            self.X_[smes], self.X_[startups], k, block_size=self.block_size, columns=True
        )
        return (
            self._collect(smes, startups, by_sme, "sme", reasons),
            self._collect(startups, smes, by_startup, "startup", reasons),
        )

    def _collect(self, rows, cand, found, kind, reasons) -> dict[str, list[Suggestion]]:
        out = {}
        for i, (idx, vals) in zip(rows.tolist(), found, strict=True):
            if reasons:
                out[self.refs_[i]] = self._suggestions(
                    i, self._row(i), cand, idx, vals, kind, self._doc(i)
                )
            else:
                floor = max(self.min_score, 1e-12)
                refs = self.refs_
                out[refs[i]] = [
                    Suggestion(refs[cand[j]], min(float(v), 1.0), ())
                    for j, v in zip(idx, vals, strict=True)
                    if v >= floor
                ]
        return out

    # ------------------------------------------------------------------ explanations

    def explain(self, ref_a: str, ref_b: str) -> Explanation:
        """Explain the score of two fitted profiles with reasons and highlight spans.

        Parameters
        ----------
        ref_a, ref_b : str
            References of two fitted profiles (usually an SME and a startup).

        Returns
        -------
        Explanation
            Score, reasons, and for both profiles the spans of words carrying shared
            features (label = concept or word), plus shared explicit categories.
        """
        check_is_fitted(self, "X_")
        a, b = self.index_[ref_a], self.index_[ref_b]
        va, vb = self._row(a), self._row(b)
        da, db = self._doc(a), self._doc(b)
        groups = self._shared(va, da, vb, db)
        reasons = self._reasons_from(groups, self.kinds_[a])
        spans_a, spans_b = [], []
        top = groups[0][0] if groups else 0.0
        for value, label, occ_a, occ_b in groups:
            if value < 0.02 * top:
                break
            spans_a.extend(Span(o.start, o.end, label, o.field) for o in occ_a)
            spans_b.extend(Span(o.start, o.end, label, o.field) for o in occ_b)
        cats = tuple(
            c
            for c in dict.fromkeys(self.profiles_[a].categories)
            if c in set(self.profiles_[b].categories)
        )
        return Explanation(
            ref_a,
            ref_b,
            self.score_pair(ref_a, ref_b),
            reasons,
            tuple(sorted(set(spans_a), key=lambda s: (s.field, s.start, s.label))),
            tuple(sorted(set(spans_b), key=lambda s: (s.field, s.start, s.label))),
            cats,
        )

    def _doc(self, i: int) -> _Doc:
        cache = self.__dict__.setdefault("_doc_cache", {})
        doc = cache.get(i)
        if doc is None:
            if len(cache) > 20000:
                cache.clear()
            doc = cache[i] = self._analyse(self.profiles_[i])
        return doc

    def _row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Feature indices and values of fitted profile ``i`` (no sparse-matrix slicing)."""
        X = self.X_
        lo, hi = X.indptr[i], X.indptr[i + 1]
        return X.indices[lo:hi], X.data[lo:hi]

    def _token_info(self, t: int) -> tuple:
        """Per-token data of explanations: concepts (with broader), stems, padded, folded, cols.

        Computed once per token (not per occurrence); ``cols`` are the word and character
        columns of ``X_`` the token contributes to.
        """
        cache = self.__dict__.setdefault("_tok_info_cache", {})
        info = cache.get(t)
        if info is not None:
            return info
        lex = self.lexicon_
        off = self._offsets()
        if t >= len(self._tok_word):  # a token first seen in an explanation
            with self._lock:
                self._token_features(len(lex.tokens), grow=False)
        concepts: set[int] = set()
        for c in {m[0] for m in lex.concepts[t]}:
            concepts |= self._closure(c)
        stop = lex.stop[t]
        char_pos = self._char_pos
        chars = char_pos[np.asarray(self._tok_char[t], dtype=np.int64)]
        info = cache[t] = (
            frozenset(concepts),
            frozenset(() if stop else {_canonical(lex.de_stem[t], lex.en_stem[t]), *lex.parts[t]}),
            "" if stop else f" {lex.folded[t]} ",
            lex.folded[t],
            tuple(off["word"][0] + col for col, _ in self._tok_word[t]),
            chars[chars >= 0],
        )
        return info

    def _analyse(self, p: Profile) -> _Doc:
        """List the token occurrences of a profile with their features, for explanations.

        Besides the occurrences, index them by feature column (concepts, stems, and the
        distinct words carrying each character n-gram), so that explaining a pair only looks
        up the features both sides share.
        """
        lex = self.lexicon_
        th = self.thesaurus_
        starts = self._phrase_starts()
        fields = [("text", p.text)]
        if p.tags:
            fields.append(("tags", ", ".join(p.tags)))
        if p.sector:
            fields.append(("sector", p.sector))
        occs: list[_Occurrence] = []
        concept_occ: dict[int, list[int]] = defaultdict(list)
        word_occ: dict[int, list[int]] = defaultdict(list)
        words_seen: list[str] = []
        word_chars: list[np.ndarray] = []
        by_folded: dict[str, list[int]] = defaultdict(list)
        for field, text in fields:
            toks = tokenize_spans(text)
            if any(t not in lex.ids for t, _, _ in toks):
                with self._lock:
                    lex.add(t for t, _, _ in toks)
            ids = [lex.ids[t] for t, _, _ in toks]
            stems = [lex.de_stem[t] for t in ids]
            phrase_concepts: dict[int, set[int]] = defaultdict(set)
            phrase_end: dict[int, int] = {}
            cand = [pos for pos, s in enumerate(stems) if s in starts]
            for n in range(th.longest_phrase, 1, -1) if cand else ():
                for pos in cand:
                    if pos + n > len(ids):
                        break
                    hit = th.phrases.get(tuple(stems[pos : pos + n]))
                    if hit and not any(q in phrase_end for q in range(pos, pos + n)):
                        for q in range(pos, pos + n):
                            phrase_concepts[q] |= hit
                            phrase_end[q] = pos + n
            for pos, ((_, start, end), t) in enumerate(zip(toks, ids, strict=True)):
                t_concepts, t_stems, padded, folded, words, chars = self._token_info(t)
                if pos in phrase_concepts:
                    first = min(q for q in phrase_end if phrase_end[q] == phrase_end[pos])
                    span = (toks[first][1], toks[phrase_end[pos] - 1][2])
                    concepts: frozenset[int] = frozenset().union(
                        *(self._closure(c) for c in phrase_concepts[pos])
                    )
                else:
                    span = (start, end)
                    concepts = t_concepts
                o = _Occurrence(
                    field=field,
                    start=start,
                    end=end,
                    surface=text[span[0] : span[1]],
                    concepts=concepts,
                    stems=t_stems,
                    padded=padded,
                    folded=folded,
                )
                k = len(occs)
                occs.append(o)
                for c in concepts:
                    concept_occ[c].append(k)
                for col in words:
                    word_occ[col].append(k)
                if padded and folded not in by_folded:
                    words_seen.append(folded)
                    word_chars.append(chars)
                by_folded[folded].append(k)
        if word_chars:
            lens = np.fromiter((len(c) for c in word_chars), dtype=np.int64, count=len(word_chars))
            char_cols = np.concatenate(word_chars)
            order = np.argsort(char_cols, kind="stable")
            char_index = (char_cols[order], np.repeat(np.arange(len(lens)), lens)[order])
        else:
            char_index = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        return _Doc(
            occs, dict(concept_occ), dict(word_occ), words_seen, char_index, dict(by_folded)
        )

    def _phrase_starts(self) -> frozenset[str]:
        if "_phrase_starts_cache" not in self.__dict__:
            self._phrase_starts_cache = frozenset(s[0] for s in self.thesaurus_.phrases)
        return self._phrase_starts_cache

    def _closure(self, c: int) -> frozenset[int]:
        cache = self.__dict__.setdefault("_closure_cache", {})
        if c not in cache:
            cache[c] = frozenset(self.broader_[c].indices.tolist())
        return cache[c]

    def _offsets(self) -> dict[str, tuple[int, int]]:
        if "_offsets_cache" not in self.__dict__:
            sizes = {
                "char": len(self.char_keep_),
                "word": len(self._word_vocab),
                "concept": len(self.thesaurus_.groups),
                "category": len(CATEGORY_CODES),
            }
            out, start = {}, 0
            for name in _BLOCKS:
                out[name] = (start, start + sizes[name])
                start += sizes[name]
            inv_word = {v: k for k, v in self._word_vocab.items()}
            inv_char = {v: k for k, v in self._char_vocab.items()}
            self._inv_word = inv_word
            self._inv_char = [inv_char[c] for c in self.char_keep_.tolist()]
            char_pos = np.full(len(self._char_vocab), -1, dtype=np.int64)
            char_pos[self.char_keep_] = np.arange(len(self.char_keep_))
            self._char_pos = char_pos
            self._offsets_cache = out
        return self._offsets_cache

    def _shared(self, va, da: _Doc, vb, db: _Doc):
        """Group products of shared features into (value, label, occ_a, occ_b), largest first.

        ``va`` and ``vb`` are ``(indices, values)`` of the two vectors (sorted indices).
        Only the features both sides carry are visited; each is mapped to the occurrences
        that carry it through the per-profile indexes built by :meth:`_analyse`.
        """
        cols, pa, pb = np.intersect1d(va[0], vb[0], assume_unique=True, return_indices=True)
        if len(cols) == 0:
            return []
        prod = va[1][pa] * vb[1][pb]
        keep = prod != 0
        cols, prod = cols[keep], prod[keep]
        if len(cols) == 0:
            return []
        off = self._offsets()
        c_lo, c_hi = off["concept"]
        w_lo = off["word"][0]
        char_hi = off["char"][1]
        labels = self.thesaurus_.labels
        inv_word = self._inv_word
        groups: dict[tuple, list] = {}

        def add(key, value, label, occ_a, occ_b):
            if not occ_a or not occ_b:
                return
            g = groups.get(key)
            if g is None:
                groups[key] = [value, label, list(occ_a), list(occ_b)]
                return
            g[0] += value
            for o in occ_a:
                if o not in g[2]:
                    g[2].append(o)
            for o in occ_b:
                if o not in g[3]:
                    g[3].append(o)

        char_pairs: dict[tuple, float] = defaultdict(float)
        order = np.argsort(-prod)
        cols, prod = cols[order], prod[order]
        # only the 40 strongest shared n-grams are mapped to words; categories have no words
        is_char = cols < char_hi
        keep = (cols < c_hi) & (~is_char | (np.cumsum(is_char) <= 40))
        cols, prod, is_char = cols[keep], prod[keep], is_char[keep]
        char_cols = cols[is_char]
        chars_a = iter(da.chars_of(char_cols))
        chars_b = iter(db.chars_of(char_cols))
        for col, value in zip(cols.tolist(), prod.tolist(), strict=True):
            if c_lo <= col:
                c = col - c_lo
                add(("c", c), value, labels[c], da.concept.get(c), db.concept.get(c))
            elif w_lo <= col:
                stem = inv_word[col - w_lo]
                add(("w", stem), value, stem, da.word.get(col), db.word.get(col))
            else:
                ca, cb = next(chars_a), next(chars_b)
                if ca and cb:
                    share = value / (len(ca) * len(cb))
                    for fa in ca:
                        for fb in cb:
                            char_pairs[(fa, fb)] += share
        for (fa, fb), value in char_pairs.items():
            oa, ob = da.by_folded[fa], db.by_folded[fb]
            common = da.occs[oa[0]].stems & db.occs[ob[0]].stems
            if common:
                stem = min(common)
                add(("w", stem), value, stem, oa, ob)
            else:
                add(("p", fa, fb), value, fa, oa, ob)
        top = max(g[0] for g in groups.values()) if groups else 0.0
        # words that share only n-gram fragments (endings like "-ung") are weak evidence
        out = [
            (g[0], g[1], [da.occs[i] for i in g[2]], [db.occs[i] for i in g[3]])
            for key, g in groups.items()
            if key[0] != "p" or g[0] >= 0.25 * top
        ]
        out.sort(key=lambda g: -g[0])
        return out

    def _reasons(self, q_vec, q_doc, q_kind, c_vec, c_doc) -> tuple[str, ...]:
        return self._reasons_from(self._shared(q_vec, q_doc, c_vec, c_doc), q_kind)

    def _reasons_from(self, groups, a_kind) -> tuple[str, ...]:
        """Turn grouped shared features into at most ``max_reasons`` readable reasons."""
        reasons: list[str] = []
        seen_words: set[str] = set()
        if not groups:
            return ()
        top = groups[0][0]
        for value, _label, occ_a, occ_b in groups:
            if len(reasons) >= self.max_reasons or value < 0.1 * top:
                break
            wa = _pick_surface(occ_a)
            wb = _pick_surface(occ_b)
            if wa.lower() in seen_words and wb.lower() in seen_words:
                continue
            seen_words.update((wa.lower(), wb.lower()))
            if a_kind == "startup":
                wa, wb = wb, wa
            reasons.append(wa if wa.lower() == wb.lower() else f"{wa} ↔ {wb}")
        return tuple(reasons)


def _exact_top(S: np.ndarray, k: int, offset: int = 0) -> list[tuple[list, list]]:
    """Top ``k`` per row of a dense block, by descending score then ascending column.

    The k-th largest score of each row comes from ``np.partition`` (values only); every entry
    at or above it is a candidate, and the few candidates are ordered with one ``lexsort``.
    """
    n_r, n_c = S.shape
    k = min(k, n_c)
    if k <= 0 or n_r == 0:
        return [([], [])] * n_r
    kth = np.partition(S, n_c - k, axis=1)[:, n_c - k]
    r, c = np.nonzero(kth[:, None] <= S)
    v = S[r, c]
    order = np.lexsort((c, -v, r))
    r, c, v = r[order], c[order], v[order]
    starts = np.searchsorted(r, np.arange(n_r))
    first = np.arange(len(r)) - starts[r] < k
    c = (c[first] + offset).tolist()
    v = v[first].tolist()
    return [(c[i : i + k], v[i : i + k]) for i in range(0, n_r * k, k)]


def top_k_pairs(
    Q: sp.csr_matrix,
    C: sp.csr_matrix,
    k: int,
    *,
    block_size: int = 2048,
    columns: bool = False,
    max_dense_bytes: int = 256 * 2**20,
    dense_share: float = 0.005,
):
    """Find the ``k`` best columns of every row of ``Q @ C.T`` (and optionally vice versa).

    Features are split by the work they cause: a feature used by many rows of both sides
    (categories, common concepts) is multiplied densely with BLAS, the many rare ones (most
    n-grams and stems) with a sparse product whose cost is proportional to the pairs that
    actually share them.  Rows of ``Q`` are processed in blocks; both parts are summed in
    float64 and rounded to float32, so scores equal those of a plain sparse product (as in
    :meth:`MatchEngine.suggest`) whatever the summation order.  The ``k`` best per row (and,
    with ``columns``, per column of the same products) are selected with ``argpartition``;
    ties are broken by index (fit order).

    Parameters
    ----------
    Q, C : scipy.sparse.csr_matrix
        Query rows and candidate rows over the same features.
    k : int
        Results per row (and per column).
    block_size : int, default=2048
        Query rows per block.
    columns : bool, default=False
        Also return the ``k`` best rows of ``Q`` for every row of ``C`` (same products).
    max_dense_bytes : int, default=256 MiB
        Memory bound for the dense feature block and for keeping the float32 score matrix
        (needed for ``columns``; above it, column candidates are merged per block instead).
    dense_share : float, default=0.005
        A feature goes to the dense part when the pairs sharing it exceed this share of all
        pairs.

    Returns
    -------
    rows : list of (list, list)
        Per row of ``Q``: candidate indices and scores, best first.
    cols : list of (list, list) or None
        Per row of ``C``: query indices and scores, best first (if ``columns``).
    """
    Q = sp.csr_matrix(Q, dtype=np.float64)
    C = sp.csr_matrix(C, dtype=np.float64)
    n_q, n_c = Q.shape[0], C.shape[0]
    n_f = Q.shape[1]
    work = np.bincount(Q.indices, minlength=n_f).astype(np.float64) * np.bincount(
        C.indices, minlength=n_f
    )
    order = np.argsort(-work, kind="stable")
    n_dense = int(np.count_nonzero(work > dense_share * max(n_q * n_c, 1)))
    n_dense = min(n_dense, max_dense_bytes // (8 * (n_c + block_size)))
    dense_f = np.sort(order[:n_dense])
    sparse_f = np.sort(order[n_dense:][work[order[n_dense:]] > 0])
    Cd = np.ascontiguousarray(C[:, dense_f].toarray().T)
    Cs_T = C[:, sparse_f].T.tocsr()
    Qd, Qs = Q[:, dense_f].tocsr(), Q[:, sparse_f].tocsr()
    keep = columns and n_q * n_c * 4 <= max_dense_bytes
    full = np.empty((n_q, n_c), dtype=np.float32) if keep else None
    rows: list[tuple[list, list]] = []
    col_cands: list[list[tuple[list, list]]] = []
    for start in range(0, n_q, block_size):
        stop = min(start + block_size, n_q)
        S = (Qs[start:stop] @ Cs_T).toarray()
        S += Qd[start:stop].toarray() @ Cd
        S = S.astype(np.float32)
        rows.extend(_exact_top(S, k))
        if keep:
            full[start:stop] = S
        elif columns:
            col_cands.append(_exact_top(np.ascontiguousarray(S.T), k, offset=start))
    if not columns:
        return rows, None
    if keep:
        return rows, _exact_top(np.ascontiguousarray(full.T), k)
    cols = []
    for j in range(n_c):
        merged = sorted(((-v, i) for blk in col_cands for i, v in zip(*blk[j], strict=True)))[:k]
        cols.append(([i for _, i in merged], [-v for v, _ in merged]))
    return rows, cols


def _explicit_categories(profiles: list[Profile]) -> sp.csr_matrix:
    """One column per category code the profile states explicitly."""
    cat_index = {c: i for i, c in enumerate(CATEGORY_CODES)}
    r, c = [], []
    for i, p in enumerate(profiles):
        for code in dict.fromkeys(p.categories):
            if code in cat_index:
                r.append(i)
                c.append(cat_index[code])
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(profiles), len(CATEGORY_CODES)))


def _canonical(de_stem: str, en_stem: str) -> str:
    """Pick one stem per word: the shorter of the German and English Snowball stems."""
    return en_stem if len(en_stem) < len(de_stem) else de_stem


_THESAURUS_CACHE: dict[tuple, Thesaurus] = {}


def _load(*sources) -> Thesaurus:
    """Load a thesaurus, caching by path so refits do not re-parse the file."""
    if all(s is None or isinstance(s, (str, Path)) for s in sources):
        key = tuple(
            (str(s), Path(s).stat().st_mtime_ns) if s is not None else None for s in sources
        )
        if key not in _THESAURUS_CACHE:
            _THESAURUS_CACHE[key] = load_thesaurus(*sources)
        return _THESAURUS_CACHE[key]
    return load_thesaurus(*sources)


class _Occurrence(NamedTuple):
    """One token occurrence in a profile field, with the features it carries."""

    field: str
    start: int
    end: int
    surface: str
    concepts: frozenset
    stems: frozenset
    padded: str
    folded: str


@dataclass
class _Doc:
    """A profile analysed for explanations: occurrences and their indexes by feature column."""

    occs: list[_Occurrence]
    concept: dict[int, list[int]]  # concept -> occurrences carrying it (with broader ones)
    word: dict[int, list[int]]  # word column of X_ -> occurrences carrying the stem
    words: list[str]  # distinct folded non-stop words, in order of first occurrence
    char_index: tuple[np.ndarray, np.ndarray]  # (char columns sorted, index into words)
    by_folded: dict[str, list[int]]  # folded word -> its occurrences

    def chars_of(self, cols: np.ndarray) -> list[list[str]]:
        """Distinct words (first-occurrence order) containing each character column."""
        sorted_cols, word = self.char_index
        lo = np.searchsorted(sorted_cols, cols, "left").tolist()
        hi = np.searchsorted(sorted_cols, cols, "right").tolist()
        w = word.tolist()
        return [[self.words[i] for i in w[a:b]] for a, b in zip(lo, hi, strict=True)]


def _pick_surface(occs: list[_Occurrence]) -> str:
    """Pick the readable word for a reason: prefer free text, then the longest surface."""
    best = min(occs, key=lambda o: (o.field != "text", -len(o.surface), o.start))
    return best.surface
