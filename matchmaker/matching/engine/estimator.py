"""The matching estimator: fit on all profiles, then suggest, score and explain.

How the score works
-------------------
Each profile becomes L2-normalised TF-IDF blocks (:mod:`.features`): character n-grams of its
words (typos, compounds, inflection), stemmed words plus German compound parts, thesaurus
concepts (:mod:`.thesaurus`; "Eingangsrechnung" and "invoice" both give the concept
``invoice``), use-case categories (explicit codes plus codes implied by concepts), and a latent
semantic block (truncated SVD of the word block over all fitted profiles, so words that keep
the same company in the event's texts meet).  The score is the weighted mean of the block
cosines, so it lies in [0, 1].  Reasons (:mod:`.explain`) name the shared concepts and stems;
levels (:mod:`.calibration`) turn scores into "very good / good / possible match".
Stems that keep company with a concept across the event's texts and a packaged background
corpus of real domain texts (:mod:`.background`) add a small share of it to the concept block.
A synonym block maps stems to German synonym sets (OpenThesaurus), so paraphrases outside the
thesaurus meet too.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from matchmaker.language.synonyms import load_synonyms
from matchmaker.language.thesaurus import load_cached
from matchmaker.matching.engine.background import concept_links, resolve
from matchmaker.matching.engine.calibration import level_of, load_floor, load_levels
from matchmaker.matching.engine.explain import ReasonTables, Side, pair_reasons, spans
from matchmaker.matching.engine.features import (
    BlockWeights,
    ConceptTables,
    Counts,
    Vocabulary,
    count_blocks,
    make_segments,
    tokenize_profiles,
)
from matchmaker.matching.engine.records import (
    KINDS,
    Explanation,
    Profile,
    Suggestion,
)
from matchmaker.matching.engine.topk import exact_top, top_k_pairs

__all__ = ["MatchEngine"]

SYNONYM_WEIGHT = 2.0
SYNONYM_MAX_SENSES = 2
HUB_SAMPLE = 500  # at most this many SMEs measure a startup's hubness (evenly spaced)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects.

    Suggestions and reasons are tuples and strings without cycles; collections triggered by
    allocating a hundred thousand of them only rescan the heap (about a fifth of the time).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scaled_with_column(X: sp.csr_matrix, scale: np.ndarray, column: np.ndarray) -> sp.csr_matrix:
    """``[diag(scale) X | column]`` as float32 CSR with sorted indices, zeros left out.

    The same matrix as ``sp.hstack([sp.diags(scale) @ X, column[:, None]])`` (each value the
    float64 product rounded to float32), built in place of the rows: a third of the time.
    """
    X = sp.csr_matrix(X)
    X.sort_indices()
    lengths = np.diff(X.indptr)
    data = X.data.astype(np.float64) * np.repeat(scale, lengths)
    kept = data != 0
    rows = np.flatnonzero(column != 0)
    # the new column comes last in its row: insert it at the end of the row's kept entries
    ends = np.concatenate([[0], np.cumsum(kept)])[X.indptr[1:]]
    at = ends[rows]
    indptr = np.zeros(X.shape[0] + 1, dtype=np.int64)
    indptr[1:] = ends + np.cumsum(column != 0)
    out = sp.csr_matrix(
        (
            np.insert(data[kept].astype(np.float32), at, column[rows].astype(np.float32)),
            np.insert(X.indices[kept], at, X.shape[1]),
            indptr,
        ),
        shape=(X.shape[0], X.shape[1] + 1),
    )
    out.has_sorted_indices = True
    return out


class MatchEngine(BaseEstimator):
    """Match SMEs and AI startups by TF-IDF over characters, stems, concepts and categories.

    Parameters
    ----------
    ngram_range : tuple of int, default=(3, 5)
        Lengths of the character n-grams taken inside each word (``char_wb`` style).
    char_weight, word_weight, concept_weight, category_weight, semantic_weight : float
        Weights of the similarity blocks; the score is their weighted mean. Defaults 1.0,
        0.2, 0.5, 0.1 and 0.33: chosen by leave-one-set-out cross-validation on the real-text
        development sets (``bench/bench_matching.py --cv``; until the ninth session of issue 12
        char 0.3 and concepts 0.4: a heavier character block carries over better to texts the
        other weights were not tuned on, see ``bench/plateau_probes.py``).
    semantic_components : int, default=40
        Dimensions of the latent semantic block (truncated SVD of the stem block over all
        fitted profiles; fewer when there are fewer profiles).
    tag_weight : float, default=1.0
        Weight of a tag's words relative to a word of the free text.
    sector_weight : float, default=0.75
        Weight of the sector's words (0.5 until the tenth session of issue 12; 0.75 was chosen
        by leaving one real dev set out in all 27 folds, ``bench/RESULTS.md``).
    compound_weight : float, default=1.0
        Weight of a German compound's parts as extra word features (split against the
        fitted vocabulary: "Bedarfsprognose" also counts as "Bedarf" and "Prognose"), relative
        to the stem of the whole word.
    trade_weight : float, default=0.8
        Weight of a thesaurus concept that names a trade (``role: trade``: bakery, hotel,
        farm) relative to a concept of a need or task: what an SME needs ranks first, a
        shared trade ("serves bakeries") helps to break ties.
    trade_word_weight : float, default=1.0
        Weight, in the character, stem and latent blocks, of a word whose only concepts
        are trades ("Bäckerei", "Hotel").
    category_text_weight : float, default=0.5
        Weight of categories implied by thesaurus concepts in the text, relative to an
        explicit category code.
    char_max_df : float, default=0.3
        Character n-grams found in more than this share of profiles are dropped (they carry
        almost no evidence and dominate the cost of the similarity products).
    char_top_n : int or None, default=100
        Keep only the strongest ``char_top_n`` character n-grams (by TF-IDF weight) of each
        profile; bounds the cost of the all-pairs products at little loss in quality.
    idf_blocks : tuple of str, default=("char", "word", "category")
        Blocks whose terms are weighted by inverse document frequency over the fitted
        profiles; the others (by default the concept block) keep plain sublinear
        frequencies. Concepts carry the thesaurus's own group weights (generic ones low),
        and a need that many SMEs share with many startups of an event (staff shortage and
        recruiting) is a common match, not noise: IDF would rank a rarer shared trade
        (bakery) above it.
    thesaurus : str, Path, mapping or None, default=None
        Thesaurus to use instead of the packaged ``thesaurus.txt``.
    extra_thesaurus : str, Path, mapping or None, default=None
        Additional groups or overrides merged on top of ``thesaurus``.
    levels : str, Path, mapping or None, default=None
        Level thresholds instead of the packaged calibration table ``levels.json``.
    min_score : float or None, default=None
        Suggestions scoring below this are left out. None: the calibrated floor of the level
        table (``levels``), which keeps 95 % of the relevant labelled pairs and moves with the
        engine's score scale whenever the table is recalibrated.
    max_reasons : int, default=3
        Maximum number of reasons per suggestion.
    block_size : int, default=2048
        Rows per block in the all-pairs products (bounds memory).
    random_state : int, default=0
        Seed of the randomized SVD of the latent semantic block (fits are deterministic).
    hub_weight : float in [0, 1), default=0.25
        How much of a startup's *hubness* ``h`` (the mean of its ``hub_k`` best block scores
        with the fitted SMEs, at most ``HUB_SAMPLE`` of them, evenly spaced) is taken off its
        scores: a block score ``s`` becomes ``(s - w h) / (1 - w h)``. A generic offer (a job
        board, AI consulting) that scores fairly well with everyone then ranks below one that
        meets an SME's need specifically (the CSLS correction of cross-domain retrieval); a
        perfect match keeps 1. Only startups carry it, so the order of SMEs for a startup is
        unchanged; ``0`` switches it off.
    hub_k : int, default=3
        How many best scores of a startup its hubness averages.
    background : bool or Background, default=True
        Unlabelled domain texts the concept links are learnt on besides the fitted profiles:
        ``True`` the packaged corpus (:mod:`.background`), ``False`` none, or a
        :class:`~matchmaker.matching.engine.background.Background` (a sequence of texts is
        analysed on each fit).
    link_weight : float, default=0.1
        Share of a concept that a stem linked to it adds to a profile's concept counts. A stem
        is linked to a concept when, among the fitted profiles and background texts with that
        stem (at least ``link_min_df`` of them), at least ``link_min_share`` carry the concept
        (and at least twice as many as of all texts). Links never make a reason: reasons
        name only concepts a word of the profile carries itself. ``0`` switches them off.
    link_min_df : int, default=3
    link_min_share : float, default=0.35
    synonym_weight : float, default=2.0
        Weight of the synonym sets inside the stem block, relative to the stems: each stem
        (and compound part) of a profile also counts for the German synonym sets it belongs to
        (OpenThesaurus, :mod:`matchmaker.language.synonyms`; an ambiguous stem's count split
        over its synsets; sublinear TF, IDF as the stems), normalised together with the stems,
        so "Knappheit" meets "Unterversorgung" although no character, stem or concept links
        them, and identical texts still score 1. The stems and synsets together keep the stem
        block's weight. Synonyms never make a reason. ``0`` switches them off.
    synonym_max_senses : int, default=2
        A stem found in more synonym sets than this is left out of the synonym block (too
        ambiguous: "Mangel" is a shortage, a defect and a mangle).

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
    vocabulary_ : Vocabulary
        Tokens with their analysis and feature columns (never changed after ``fit``).
    levels_ : dict
        Score thresholds of the calibrated levels.
    min_score_ : float
        The floor in use: ``min_score``, or the level table's calibrated floor.
    """

    def __init__(
        self,
        *,
        ngram_range=(3, 5),
        char_weight=1.0,
        word_weight=0.2,
        concept_weight=0.5,
        category_weight=0.1,
        semantic_weight=0.33,
        semantic_components=40,
        tag_weight=1.0,
        sector_weight=0.75,
        compound_weight=1.0,
        trade_weight=0.8,
        trade_word_weight=1.0,
        category_text_weight=0.5,
        char_max_df=0.3,
        char_top_n=100,
        idf_blocks=("char", "word", "category"),
        thesaurus=None,
        extra_thesaurus=None,
        levels=None,
        min_score=None,
        max_reasons=3,
        block_size=2048,
        random_state=0,
        hub_weight=0.25,
        hub_k=3,
        background=True,
        link_weight=0.1,
        link_min_df=3,
        link_min_share=0.35,
        synonym_weight=SYNONYM_WEIGHT,
        synonym_max_senses=SYNONYM_MAX_SENSES,
    ):
        self.ngram_range = ngram_range
        self.char_weight = char_weight
        self.word_weight = word_weight
        self.concept_weight = concept_weight
        self.category_weight = category_weight
        self.semantic_weight = semantic_weight
        self.semantic_components = semantic_components
        self.tag_weight = tag_weight
        self.sector_weight = sector_weight
        self.compound_weight = compound_weight
        self.trade_weight = trade_weight
        self.trade_word_weight = trade_word_weight
        self.category_text_weight = category_text_weight
        self.char_max_df = char_max_df
        self.char_top_n = char_top_n
        self.idf_blocks = idf_blocks
        self.thesaurus = thesaurus
        self.extra_thesaurus = extra_thesaurus
        self.levels = levels
        self.min_score = min_score
        self.max_reasons = max_reasons
        self.block_size = block_size
        self.random_state = random_state
        self.hub_weight = hub_weight
        self.hub_k = hub_k
        self.background = background
        self.link_weight = link_weight
        self.link_min_df = link_min_df
        self.link_min_share = link_min_share
        self.synonym_weight = synonym_weight
        self.synonym_max_senses = synonym_max_senses

    # ------------------------------------------------------------------ fitting

    def fit(self, profiles: Iterable[Profile], y=None) -> MatchEngine:
        """Fit vocabulary, IDF weights, profile vectors and the tables reasons need.

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
        self.thesaurus_ = load_cached(*sources)
        self.concepts_ = ConceptTables(self.thesaurus_, self.trade_weight)
        self.levels_ = load_levels(self.levels)
        self.min_score_ = (
            load_floor(self.levels) if self.min_score is None else float(self.min_score)
        )
        self.profiles_ = profiles
        self.refs_ = refs
        self.index_ = {r: i for i, r in enumerate(refs)}
        self.kinds_ = np.array([p.kind for p in profiles])
        self.rows_ = {k: np.flatnonzero(self.kinds_ == k) for k in KINDS}

        vocab = Vocabulary(
            self.thesaurus_, self.ngram_range, self.compound_weight, self.trade_word_weight
        )
        seg_tokens, seg_doc, seg_w, display = tokenize_profiles(
            profiles, self.tag_weight, self.sector_weight
        )
        vocab.add(seg_tokens, display, grow=True)
        self.vocabulary_ = vocab
        # stem column -> OpenThesaurus synsets of that stem (none when the block is off)
        self.synonym_matrix_ = (
            load_synonyms().matrix(vocab.words, self.synonym_max_senses)
            if self.synonym_weight > 0
            else sp.csr_matrix((len(vocab.words), 0))
        )
        self.concept_links_ = None
        counts = self._count(vocab, profiles, seg_tokens, seg_doc, seg_w)
        if self.link_weight > 0:
            # stems that keep company with a concept in the event's texts and the background
            # corpus carry a small share of it ("Lösegeld" of ransomware)
            self.concept_links_ = self._learn_links(counts.blocks, vocab)
            counts.blocks["concept"] = self._linked(counts.blocks)
        weights = {
            "char": self.char_weight,
            "word": self.word_weight,
            "concept": self.concept_weight,
            "category": self.category_weight,
            "semantic": self.semantic_weight,
        }
        self.weights_ = BlockWeights(
            weights,
            self.char_max_df,
            self.char_top_n,
            self.semantic_components,
            self.random_state,
            tuple(self.idf_blocks),
            self.synonym_weight,
        ).fit(counts.blocks, self.concepts_.scale)
        self.X_ = self.weights_.transform(counts.blocks)
        self.hub_smes_ = self._hub_sample(self.X_)
        self.X_ = self._with_hub(self.X_, self.kinds_)
        self.offsets_ = self.weights_.offsets(
            len(vocab.words), self.concepts_.n, self.synonym_matrix_.shape[1]
        )
        self.reason_tables_ = ReasonTables.from_thesaurus(vocab.words, self.thesaurus_)
        self.reason_side_ = self._reason_side(self.X_, counts)
        self.candidates_ = self._candidates()
        return self

    def _learn_links(self, blocks: dict, vocab: Vocabulary) -> sp.csr_matrix:
        """Stem × concept links over the fitted profiles and the background texts."""
        background = resolve(self.background, self.thesaurus_)
        words, concepts = [blocks["word"]], [blocks["concept"]]
        if background is not None:
            words.append(background.rows_for(vocab.words))
            concepts.append(background.concepts_for(self.thesaurus_.ids))
        return concept_links(
            sp.vstack(words), sp.vstack(concepts), self.link_min_df, self.link_min_share
        )

    def _count(self, vocab, profiles, seg_tokens, seg_doc, seg_w) -> Counts:
        segs = make_segments(vocab, seg_tokens, seg_doc, seg_w, len(profiles))
        counts = count_blocks(vocab, self.concepts_, segs, profiles, self.category_text_weight)
        counts.blocks["synonym"] = self._synonyms(counts.blocks["word"])
        if getattr(self, "concept_links_", None) is not None:
            counts.blocks["concept"] = self._linked(counts.blocks)
        return counts

    def _synonyms(self, words: sp.csr_matrix) -> sp.csr_matrix:
        """Synset counts of profiles: their stems (and compound parts) mapped to synsets."""
        S = getattr(self, "synonym_matrix_", None)
        if S is None:  # an engine stored before the synonym block
            S = sp.csr_matrix((words.shape[1], 0))
        return sp.csr_matrix(words @ S)

    def _linked(self, blocks: dict) -> sp.csr_matrix:
        """Concept counts plus a share of the concepts linked to the profile's stems."""
        present = sp.csr_matrix(blocks["word"], copy=True)
        # stems with a positive count (a batch's products can store explicit zeros)
        present.data = (present.data > 0).astype(np.float64)
        present.eliminate_zeros()
        return sp.csr_matrix(blocks["concept"] + self.link_weight * (present @ self.concept_links_))

    def _reason_side(self, X: sp.csr_matrix, counts: Counts) -> Side:
        return self.reason_tables_.side(
            X,
            self.offsets_["word"],
            self.offsets_["concept"],
            counts.surface_word,
            counts.surface_concept,
            counts.surfaces,
        )

    def _transform(self, profiles: list[Profile]) -> tuple[sp.csr_matrix, Side, Vocabulary]:
        """Vectorise new profiles with the fitted vocabulary; the fitted state stays unchanged."""
        seg_tokens, seg_doc, seg_w, display = tokenize_profiles(
            profiles, self.tag_weight, self.sector_weight
        )
        vocab = self.vocabulary_
        if not vocab.knows(t for toks in seg_tokens for t in toks):
            vocab = vocab.copy()
            vocab.add(seg_tokens, display, grow=False)
        counts = self._count(vocab, profiles, seg_tokens, seg_doc, seg_w)
        X = self.weights_.transform(counts.blocks)
        X = self._with_hub(X, np.array([p.kind for p in profiles]))
        return X, self._reason_side(X, counts), vocab

    def _hub_sample(self, X: sp.csr_matrix) -> sp.csr_matrix | None:
        """The SMEs a startup's hubness is measured against (transposed), or None when off.

        At most ``HUB_SAMPLE`` evenly spaced SMEs: exact for an event of that size, and a
        bounded cost for larger ones (their best scores are then a little lower).
        """
        smes = self.rows_["sme"]
        if not 0 <= self.hub_weight < 1:
            raise ValueError("hub_weight must be in [0, 1)")
        if (
            self.hub_weight == 0
            or self.hub_k < 1
            or not len(smes)
            or not len(self.rows_["startup"])
        ):
            return None
        step = max(1, -(-len(smes) // HUB_SAMPLE))
        return sp.csr_matrix(X[smes[::step]].T, dtype=np.float64)

    def _with_hub(self, X: sp.csr_matrix, kinds: np.ndarray) -> sp.csr_matrix:
        """Fold the startups' hubness into the vectors (no change when it is off).

        A startup's vector is scaled by ``1 / (1 - w h)`` and gets ``-w h / (1 - w h)`` in an
        extra column where every SME has 1, so the product of an SME and a startup is the
        corrected score ``(s - w h) / (1 - w h)``: every path that multiplies vectors
        (suggestions, top-k, pair scores, blocks of candidates) scores the same way.
        """
        sample = getattr(self, "hub_smes_", None)
        if sample is None:
            return X
        scale, column = np.ones(X.shape[0]), np.ones(X.shape[0])
        startups = np.flatnonzero(kinds == "startup")
        k = min(self.hub_k, sample.shape[1])
        for start in range(0, len(startups), self.block_size):
            rows = startups[start : start + self.block_size]
            S = (sp.csr_matrix(X[rows], dtype=np.float64) @ sample).toarray()
            best = np.partition(S, S.shape[1] - k, axis=1)[:, S.shape[1] - k :]
            penalty = self.hub_weight * np.clip(best.mean(axis=1), 0.0, 1.0)
            scale[rows] = 1.0 / (1.0 - penalty)
            column[rows] = -penalty / (1.0 - penalty)
        return _scaled_with_column(X, scale, column)

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

    def _query(self, item: str | Profile) -> tuple[sp.csr_matrix, Side, Vocabulary, Profile]:
        """Return the vector, reason features, vocabulary and input of one profile.

        ``item`` is the reference of a fitted profile, or a :class:`Profile` (new, or newer
        than the fit), which is vectorised with the fitted vocabulary and weights.
        """
        if isinstance(item, Profile):
            X, side, vocab = self._transform([item])
            return X, side, vocab, item
        i = self.index_[item]
        return (
            self.X_[i],
            self.reason_side_.rows(np.array([i])),
            self.vocabulary_,
            self.profiles_[i],
        )

    def score_pair(self, a: str | Profile, b: str | Profile) -> float:
        """Return the score of two profiles, in [0, 1].

        Parameters
        ----------
        a, b : str or Profile
            References of fitted profiles, or profiles to vectorise with the fitted model.
        """
        check_is_fitted(self, "X_")
        x_a, x_b = self._query(a)[0], self._query(b)[0]
        # latent semantic cosines may be slightly negative; a score is never below 0
        return float(np.clip(x_a.multiply(x_b).sum(), 0.0, 1.0))

    def score_pairs(self, pairs: Iterable[tuple[str | Profile, str | Profile]]) -> list[float]:
        """Return the scores of many pairs, vectorising each new profile once.

        Parameters
        ----------
        pairs : iterable of (str or Profile, str or Profile)
            As the arguments of :meth:`score_pair`.

        Returns
        -------
        list of float
            One score in [0, 1] per pair, in order.
        """
        check_is_fitted(self, "X_")
        pairs = list(pairs)
        new = list({id(p): p for pair in pairs for p in pair if isinstance(p, Profile)}.values())
        rows = {}
        if new:
            X_new = self._transform(new)[0]
            rows = {id(p): X_new[i] for i, p in enumerate(new)}

        def row(item):
            return rows[id(item)] if isinstance(item, Profile) else self.X_[self.index_[item]]

        return [float(np.clip(row(a).multiply(row(b)).sum(), 0.0, 1.0)) for a, b in pairs]

    def score_block(self, refs_a: Sequence[str], refs_b: Sequence[str]) -> np.ndarray:
        """Score every profile of ``refs_a`` with every profile of ``refs_b`` in one product.

        The same scores as :meth:`score_pair` (up to the order of summation), for many pairs at
        once: the candidates of a large event are a block of SMEs times a block of startups.

        Returns
        -------
        ndarray of shape (len(refs_a), len(refs_b)), float64 in [0, 1]
        """
        check_is_fitted(self, "X_")
        rows = [self.index_[ref] for ref in refs_a]
        cols = [self.index_[ref] for ref in refs_b]
        block = (self.X_[rows] @ self.X_[cols].T).toarray()
        return np.clip(block, 0.0, 1.0)

    def level(self, score: float) -> str:
        """Return the calibrated level of a score: ``"very_good"``, ``"good"``, ``"possible"``."""
        check_is_fitted(self, "levels_")
        return level_of([score], self.levels_)[0]

    def _suggestions(
        self, q_side: Side, q_kind: str, found, cand: np.ndarray, with_reasons: bool
    ) -> list[list[Suggestion]]:
        """Turn top-k candidates of query rows into suggestions, reasons computed in one batch.

        ``found`` holds per query row of ``q_side`` the candidate positions and scores.
        """
        lengths = np.fromiter((len(f[0]) for f in found), dtype=np.int64, count=len(found))
        total = int(lengths.sum())
        pos = np.fromiter(chain.from_iterable(f[0] for f in found), dtype=np.int64, count=total)
        vals = np.fromiter(chain.from_iterable(f[1] for f in found), dtype=np.float64, count=total)
        q_rows = np.repeat(np.arange(len(found)), lengths)
        # candidates come best first, so the kept ones are a prefix of every row
        keep = vals >= max(self.min_score_, 1e-12)
        q_pos, c_rows = q_rows[keep], cand[pos[keep]]
        scores = np.minimum(vals[keep], 1.0).tolist()
        counts = np.bincount(q_pos, minlength=len(found)).tolist()
        with _gc_paused():
            return self._build(q_side, q_kind, q_pos, c_rows, scores, counts, with_reasons)

    def _build(self, q_side, q_kind, q_pos, c_rows, scores, counts, with_reasons):
        if with_reasons and len(q_pos):
            reasons = pair_reasons(
                q_side.rows(q_pos),
                self.reason_side_.rows(c_rows),
                self.reason_tables_,
                q_kind == "sme",
                self.max_reasons,
            )
        else:
            reasons = [()] * len(q_pos)
        levels = level_of(scores, self.levels_)
        refs = self.refs_
        made = [
            Suggestion(refs[c], s, r, lv)
            for c, s, r, lv in zip(c_rows.tolist(), scores, reasons, levels, strict=True)
        ]
        out, start = [], 0
        for n in counts:
            out.append(made[start : start + n])
            start += n
        return out

    def suggest(self, ref: str | Profile, k: int = 10) -> list[Suggestion]:
        """Suggest the best profiles of the other kind for one profile.

        Parameters
        ----------
        ref : str or Profile
            Reference of a fitted profile, or a profile (new, or changed since the fit) to
            vectorise with the fitted model; the fitted state stays unchanged.
        k : int, default=10
            Maximum number of suggestions.

        Returns
        -------
        list of Suggestion
            Best first; only scores >= ``min_score_``.
        """
        check_is_fitted(self, "X_")
        if isinstance(ref, Profile) and ref.kind not in KINDS:
            raise ValueError("kind must be 'sme' or 'startup'")
        q, q_side, _, profile = self._query(ref)
        _, cand = self._side(profile.kind)
        found = exact_top(self._candidate_scores(q, profile.kind), k)
        return self._suggestions(q_side, profile.kind, found, cand, True)[0]

    def suggest_many(
        self, profiles: Sequence[Profile], k: int = 10, *, reasons: bool = True
    ) -> list[list[Suggestion]]:
        """Suggest the best profiles of the other kind for many new profiles of one kind.

        The same suggestions as :meth:`suggest` of each, with the profiles vectorised in one
        batch and scored a block of rows at a time (bounded memory): the SMEs changed since
        the fit, which the organisers' overview ranks in a request.

        Parameters
        ----------
        profiles : sequence of Profile
            Profiles (new, or changed since the fit), all of one kind.
        k : int, default=10
            Maximum number of suggestions per profile.
        reasons : bool, default=True
            Compute reasons (``False`` leaves them empty).

        Returns
        -------
        list of list of Suggestion
            Per profile, in order; best first, only scores >= ``min_score_``.
        """
        check_is_fitted(self, "X_")
        kinds = {p.kind for p in profiles}
        if not profiles:
            return []
        if len(kinds) != 1 or not kinds <= set(KINDS):
            raise ValueError("profiles must be of one kind, 'sme' or 'startup'")
        (kind,) = kinds
        X, side, _ = self._transform(list(profiles))
        _, cand = self._side(kind)
        found = []
        for start in range(0, X.shape[0], self.block_size):
            found += exact_top(self._candidate_scores(X[start : start + self.block_size], kind), k)
        return self._suggestions(side, kind, found, cand, reasons)

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

        The fitted model is not changed: words the engine has not seen are analysed in a copy
        of its vocabulary.

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
        profile = Profile(
            "", kind, text, sector=sector, categories=tuple(categories), tags=tuple(tags)
        )
        return self.suggest(profile, k)

    def _candidate_scores(self, q: sp.csr_matrix, kind: str) -> np.ndarray:
        """Scores of one query row against all candidates, as :func:`top_k_pairs` computes them.

        Summed in float64 and rounded to float32, so they equal the batch scores exactly.
        """
        q = sp.csr_matrix(q, dtype=np.float64)
        return (q @ self.candidates_[kind]).toarray().astype(np.float32)

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
            Compute reasons (``False`` leaves them empty).

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
        suggestions = self._suggestions(self.reason_side_.rows(rows), kind, found, cand, reasons)
        return {self.refs_[i]: s for i, s in zip(rows.tolist(), suggestions, strict=True)}

    # ------------------------------------------------------------------ explanations

    def reasons_of(self, pairs: Sequence[tuple[str | Profile, str | Profile]]) -> list[tuple]:
        """Return the reasons of many pairs, as :meth:`explain` gives them.

        Pairs of fitted profiles (references) are worded in one batch per side that words the
        reasons (the SME's), where :meth:`explain` takes one pair at a time with its
        highlights: the meetings of a schedule of thousands. A :class:`Profile` (new, or
        changed since the fit) is vectorised once with the fitted model and its pairs are
        worded one by one, so a reason never names a word the profile no longer has.
        """
        check_is_fitted(self, "X_")
        found: list[tuple] = [()] * len(pairs)
        fitted = [
            k for k, pair in enumerate(pairs) if not any(isinstance(p, Profile) for p in pair)
        ]
        batched = self._fitted_reasons([pairs[k] for k in fitted])
        for k, reasons in zip(fitted, batched, strict=True):
            found[k] = reasons
        changed = sorted(set(range(len(pairs))) - set(fitted))
        if not changed:
            return found
        new = list({id(p): p for k in changed for p in pairs[k] if isinstance(p, Profile)}.values())
        new_side = self._transform(new)[1]
        position = {id(p): i for i, p in enumerate(new)}

        def side_of(item: str | Profile) -> tuple[Side, str]:
            if isinstance(item, Profile):
                return new_side.rows(np.array([position[id(item)]])), item.kind
            i = self.index_[item]
            return self.reason_side_.rows(np.array([i])), self.kinds_[i]

        for k in changed:
            (side_a, kind_a), (side_b, _kind_b) = side_of(pairs[k][0]), side_of(pairs[k][1])
            found[k] = pair_reasons(
                side_a, side_b, self.reason_tables_, kind_a == "sme", self.max_reasons
            )[0]
        return found

    def _fitted_reasons(self, pairs: Sequence[tuple[str, str]]) -> list[tuple]:
        """Return the reasons of pairs of fitted profiles, one batch per wording side."""
        found: list[tuple] = [()] * len(pairs)
        if not pairs:
            return found
        a = np.array([self.index_[ref_a] for ref_a, _ref_b in pairs], dtype=np.int64)
        b = np.array([self.index_[ref_b] for _ref_a, ref_b in pairs], dtype=np.int64)
        a_is_sme = np.array([self.kinds_[i] == "sme" for i in a.tolist()], dtype=bool)
        for flag in (True, False):
            where = np.flatnonzero(a_is_sme == flag)
            if not len(where):
                continue
            reasons = pair_reasons(
                self.reason_side_.rows(a[where]),
                self.reason_side_.rows(b[where]),
                self.reason_tables_,
                flag,
                self.max_reasons,
            )
            for position, pair_reasons_found in zip(where.tolist(), reasons, strict=True):
                found[position] = pair_reasons_found
        return found

    def explain(self, ref_a: str | Profile, ref_b: str | Profile) -> Explanation:
        """Explain the score of two profiles with reasons and highlight spans.

        Parameters
        ----------
        ref_a, ref_b : str or Profile
            References of two fitted profiles (usually an SME and a startup), or profiles to
            vectorise with the fitted model (new, or changed since the fit).

        Returns
        -------
        Explanation
            Score, level, reasons, and for both profiles the spans of words carrying shared
            concepts and stems (label = concept or stem), plus shared explicit categories.
        """
        check_is_fitted(self, "X_")
        x_a, side_a, vocab_a, pa = self._query(ref_a)
        x_b, side_b, vocab_b, pb = self._query(ref_b)
        reasons = pair_reasons(
            side_a, side_b, self.reason_tables_, pa.kind == "sme", self.max_reasons
        )[0]
        shared_row = side_a.weight.multiply(side_b.weight).tocoo()
        shared = dict(zip(shared_row.col.tolist(), shared_row.data.tolist(), strict=True))
        top = max(shared.values(), default=0.0)
        shared = {f: v for f, v in shared.items() if v >= 0.02 * top}
        tables = (self.concepts_, self.reason_tables_)
        cats = tuple(c for c in dict.fromkeys(pa.categories) if c in set(pb.categories))
        score = float(np.clip(x_a.multiply(x_b).sum(), 0.0, 1.0))
        return Explanation(
            pa.ref,
            pb.ref,
            score,
            reasons,
            spans(vocab_a, *tables, pa, shared),
            spans(vocab_b, *tables, pb, shared),
            cats,
            self.level(score),
        )

    # ------------------------------------------------------------------ storing

    def __getstate__(self) -> dict:
        """Leave out what is rebuilt from ``X_`` on loading (halves a stored model)."""
        state = self.__dict__.copy()
        state.pop("candidates_", None)
        return state

    def __setstate__(self, state: dict) -> None:
        """Restore a stored model and rebuild its transposed candidate blocks."""
        # a model stored before trade roles and the seed parameter was fitted with these values
        for name, fitted_with in (
            ("trade_weight", 1.0),
            ("trade_word_weight", 1.0),
            ("idf_blocks", ("char", "word", "concept", "category")),
        ):
            state.setdefault(name, fitted_with)
        state.setdefault("random_state", 0)
        # ... and before the hubness correction: without it
        state.setdefault("hub_weight", 0.0)
        state.setdefault("hub_k", 3)
        state.setdefault("hub_smes_", None)
        # ... and before the concept links: without them
        state.setdefault("background", False)
        state.setdefault("link_weight", 0.0)
        state.setdefault("link_min_df", 3)
        state.setdefault("link_min_share", 0.35)
        state.setdefault("concept_links_", None)
        # ... and before the calibrated floor: the floor it was given
        if "levels_" in state:
            state.setdefault("min_score_", float(state.get("min_score") or 0.0))
        self.__dict__.update(state)
        if "X_" in state:
            self.candidates_ = self._candidates()

    def _candidates(self) -> dict[str, sp.csr_matrix]:
        """Candidates of each querying kind, transposed once for single-profile queries."""
        return {kind: self.X_[self._side(kind)[1]].T.tocsr().astype(np.float64) for kind in KINDS}
