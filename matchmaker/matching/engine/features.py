"""Feature blocks of the engine: characters, stems, concepts, categories, and their weighting.

A batch of profiles becomes raw counts per block (:func:`count_blocks`); :class:`BlockWeights`
learns IDF weights on the fitted profiles and turns counts into the weighted, L2-normalised
blocks whose concatenation is the profile vector.  Alongside the counts, :func:`count_blocks`
records which word of each profile carries each concept and stem (the *surfaces* reasons show).

Why one file of ~600 lines: the blocks share one counting pass over the analysed tokens and one
weighting object; split apart, each block would repeat the pass or expose its internals.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize

from matchmaker.language.text import TOKEN_RE, Lexicon
from matchmaker.language.thesaurus import CATEGORY_CODES, Thesaurus
from matchmaker.matching.engine.records import Profile
from matchmaker.matching.engine.topk import one_blas_thread

__all__ = ["BLOCKS", "BlockWeights", "ConceptTables", "Counts", "Vocabulary", "count_blocks"]

BLOCKS = ("char", "word", "concept", "category", "synonym", "semantic")
# the synonym block (synsets of the stems, counted by the estimator) is normalised together with
# the word block; the semantic block is derived from the word block, not counted
COUNTED = BLOCKS[:-1]
LSA_SAMPLE = 3000  # about how many profiles the latent semantic space is fitted on, at most
# a sentence ends at . ! ? or … followed by space (closing quotes and brackets stay with it)
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'“”«»)\]]*\s+")


def canonical_stem(de_stem: str, en_stem: str) -> str:
    """Pick one stem per word: the shorter of the German and English Snowball stems."""
    return en_stem if len(en_stem) < len(de_stem) else de_stem


class Vocabulary:
    """Tokens with their analysis, word and character columns, and display forms.

    Grown while fitting; a fitted engine analyses new texts in a :meth:`copy` so that its own
    vocabulary never changes after ``fit``.
    """

    def __init__(
        self,
        thesaurus: Thesaurus,
        ngram_range: tuple[int, int],
        compound_weight: float,
        trade_word_weight: float = 1.0,
    ):
        self.lexicon = Lexicon(thesaurus)
        self.ngram_range = tuple(ngram_range)
        self.compound_weight = compound_weight
        self.trade_word_weight = trade_word_weight
        self.words: dict[str, int] = {}  # stem or compound part -> word column
        self.chars: dict[str, int] = {}  # character n-gram -> char column
        self.tok_word: list[list[tuple[int, float]]] = []  # token -> (word column, weight)
        self.tok_canon: list[int] = []  # token -> column of its own stem, -1 if none
        self.tok_char: list[list[int]] = []  # token -> char columns
        self.tok_factor: list[float] = []  # token -> weight of its words and n-grams
        self.display: list[str] = []  # token -> a surface form as written (case kept)

    def __setstate__(self, state: dict) -> None:
        """Restore a stored vocabulary; one stored before trade words had every weight 1."""
        if "tok_factor" not in state:
            state["tok_factor"] = [0.0 if stop else 1.0 for stop in state["lexicon"].stop]
            state["trade_word_weight"] = 1.0
        self.__dict__.update(state)

    def copy(self) -> Vocabulary:
        """Return an independent copy (columns stay fixed: a copy never adds columns)."""
        other = Vocabulary.__new__(Vocabulary)
        other.lexicon = self.lexicon.copy()
        other.ngram_range, other.compound_weight = self.ngram_range, self.compound_weight
        other.trade_word_weight = self.trade_word_weight
        other.words, other.chars = self.words, self.chars
        for name in ("tok_word", "tok_canon", "tok_char", "tok_factor", "display"):
            setattr(other, name, list(getattr(self, name)))
        return other

    def knows(self, tokens) -> bool:
        """Tell whether every token is already analysed."""
        ids = self.lexicon.ids
        return all(t in ids for t in tokens)

    def add(
        self,
        token_lists: list[list[str]],
        display: dict[str, str],
        grow: bool,
        with_chars: bool = True,
    ) -> None:
        """Analyse new tokens; with ``grow``, new stems and n-grams get new columns.

        ``with_chars=False`` leaves out the character n-grams (stems and concepts only).
        """
        lex = self.lexicon
        before = len(lex.tokens)
        lex.add(t for toks in token_lists for t in toks)
        lex.split_compounds(range(before, len(lex.tokens)))
        lo, hi = self.ngram_range
        wv, cv = self.words, self.chars
        trade = lex.thesaurus.trade
        for t in range(len(self.tok_word), len(lex.tokens)):
            self.display.append(display.get(lex.tokens[t], lex.tokens[t]))
            if lex.stop[t]:
                self.tok_word.append([])
                self.tok_canon.append(-1)
                self.tok_char.append([])
                self.tok_factor.append(0.0)
                continue
            # a word that only names a trade ("Bäckerei", "Hotel") says who a firm is or
            # serves, not what it needs or offers: it counts less in the word-level blocks
            named = lex.concepts[t]
            factor = self.trade_word_weight if named and all(trade[m[0]] for m in named) else 1.0
            self.tok_factor.append(factor)
            stem = canonical_stem(lex.de_stem[t], lex.en_stem[t])
            feats = {stem: 1.0}
            for part in lex.parts[t]:
                feats.setdefault(part, self.compound_weight)
            words = []
            for word, w in feats.items():
                col = wv.get(word)
                if col is None and grow:
                    col = wv[word] = len(wv)
                if col is not None:
                    words.append((col, w * factor))
            self.tok_word.append(words)
            self.tok_canon.append(wv.get(stem, -1))
            if not with_chars:
                self.tok_char.append([])
                continue
            padded = f" {lex.folded[t]} "
            grams = {
                padded[i : i + n] for n in range(lo, hi + 1) for i in range(len(padded) - n + 1)
            }
            chars = []
            for g in sorted(grams):
                col = cv.get(g)
                if col is None and grow:
                    col = cv[g] = len(cv)
                if col is not None:
                    chars.append(col)
            self.tok_char.append(chars)


@dataclass
class Segments:
    """Token occurrences of a batch of profiles: one segment per text, tag or sector."""

    doc: np.ndarray  # profile row of each token occurrence
    tok: np.ndarray  # token id
    seg: np.ndarray  # segment id (phrases never cross segments)
    weight: np.ndarray  # field weight of the occurrence
    n_docs: int


def field_texts(p: Profile, tag_weight: float, sector_weight: float) -> list[tuple[str, float]]:
    """Return the weighted texts of a profile: free text, each tag, the sector."""
    out = [(p.text, 1.0)]
    out += [(tag, tag_weight) for tag in p.tags]
    if p.sector:
        out.append((p.sector, sector_weight))
    return out


def tokenize_profiles(
    profiles: list[Profile], tag_weight: float, sector_weight: float
) -> tuple[list[list[str]], list[int], list[float], dict[str, str]]:
    """Tokenise every field (the free text by sentence); return segments' tokens, profile rows,
    weights and display forms."""
    seg_tokens: list[list[str]] = []
    seg_doc: list[int] = []
    seg_w: list[float] = []
    display: dict[str, str] = {}
    for i, p in enumerate(profiles):
        fields = field_texts(p, tag_weight, sector_weight)
        # one segment per sentence of the free text: phrases do not cross sentences, and a
        # cue-gated concept needs its cue in the same sentence
        sentences = [(part, fields[0][1]) for part in SENTENCE_END.split(fields[0][0])]
        for text, w in sentences + fields[1:]:
            written = TOKEN_RE.findall(text)
            # one lower() per text, not per token; NUL cannot occur inside a token
            toks = "\0".join(written).lower().split("\0") if written else []
            seg_tokens.append(toks)
            seg_doc.append(i)
            seg_w.append(w)
            display.update(zip(toks, written, strict=True))
    return seg_tokens, seg_doc, seg_w, display


def make_segments(vocab: Vocabulary, seg_tokens, seg_doc, seg_w, n_docs: int) -> Segments:
    """Turn tokenised segments into occurrence arrays (every token must be in ``vocab``)."""
    ids = vocab.lexicon.ids
    lengths = np.fromiter((len(t) for t in seg_tokens), dtype=np.int64, count=len(seg_tokens))
    tok = np.fromiter(
        (ids[t] for toks in seg_tokens for t in toks), dtype=np.int64, count=int(lengths.sum())
    )
    seg = np.repeat(np.arange(len(seg_tokens)), lengths)
    return Segments(
        doc=np.asarray(seg_doc, dtype=np.int64)[seg],
        tok=tok,
        seg=seg,
        weight=np.asarray(seg_w, dtype=np.float64)[seg],
        n_docs=n_docs,
    )


class ConceptTables:
    """Matrices derived from the thesaurus: broader closure, group weights, implied categories."""

    def __init__(self, thesaurus: Thesaurus, trade_weight: float = 1.0):
        th = thesaurus
        n_c = len(th.groups)
        rows, cols = [], []
        for g in th.groups:
            for b in g.broader:
                rows.append(th.index[g.id])
                cols.append(th.index[b])
        adj = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_c, n_c))
        # a concept also counts, at half weight, for its broader concepts (two levels)
        self.broader = (sp.identity(n_c, format="csr") + 0.5 * adj + 0.25 * (adj @ adj)).tocsr()
        b = self.broader
        # per concept: (concept itself or broader, weight), read without slicing the matrix
        self.closure = [
            list(
                zip(
                    b.indices[b.indptr[c] : b.indptr[c + 1]].tolist(),
                    b.data[b.indptr[c] : b.indptr[c + 1]].tolist(),
                    strict=True,
                )
            )
            for c in range(n_c)
        ]
        # a shared trade is worth ``trade_weight`` of a shared need of the same group weight
        self.scale = np.asarray(th.weights, dtype=np.float64) * np.where(
            np.asarray(th.trade, dtype=bool), trade_weight, 1.0
        )
        cat_index = {c: i for i, c in enumerate(CATEGORY_CODES)}
        rows, cols = [], []
        for ci, g in enumerate(th.groups):
            for c in g.categories:
                rows.append(ci)
                cols.append(cat_index[c])
        self.categories = sp.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(n_c, len(CATEGORY_CODES))
        )
        self.n = n_c


@dataclass
class Counts:
    """Raw counts per block, and which surface of each profile carries each concept and stem.

    ``surface_word`` and ``surface_concept`` are (profile × word column) and (profile ×
    concept) matrices whose values are ``1 +`` an index into ``surfaces``.
    """

    blocks: dict[str, sp.csr_matrix]
    surface_word: sp.csr_matrix
    surface_concept: sp.csr_matrix
    surfaces: list[str]


def _token_matrix(rows_of, used, n_tok: int, n_cols: int) -> sp.csr_matrix:
    r, c, v = [], [], []
    for t in used.tolist():
        for col, w in rows_of(t):
            r.append(t)
            c.append(col)
            v.append(w)
    return sp.csr_matrix((v, (r, c)), shape=(n_tok, n_cols), dtype=np.float64)


def _representatives(
    D: sp.csr_matrix,
    T: sp.csr_matrix,
    own: sp.csr_matrix | None = None,
    extra: tuple[list, ...] | None = None,
) -> sp.csr_matrix:
    """For each (profile, feature) of ``D @ T``, the token (or phrase) that contributes most.

    ``D`` is profile × token, ``T`` token × feature; ``extra`` adds (profile, feature,
    surface, weight, direct) rows (phrases).  A word carrying the feature itself wins, then the
    higher weight, then the lower surface index.  Values are
    ``1 + surface``, negated when the best word carries the feature only as a broader concept
    of its own (not in ``own``, the token × feature matrix of its own concepts).
    """
    Dc = D.tocoo()
    T = sp.csr_matrix(T)
    lengths = np.diff(T.indptr)[Dc.col]
    total = int(lengths.sum())
    starts = np.repeat(T.indptr[Dc.col], lengths)
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    idx = starts + offsets
    doc = np.repeat(Dc.row, lengths)
    feat = T.indices[idx]
    surf = np.repeat(Dc.col, lengths)
    score = np.repeat(Dc.data, lengths) * T.data[idx]
    if own is None:
        direct = np.ones(total, dtype=bool)
    else:
        own = sp.csr_matrix(own).tocoo()
        n_f = T.shape[1]
        direct = np.isin(surf * n_f + feat, own.row.astype(np.int64) * n_f + own.col)
    if extra is not None and extra[0]:
        doc = np.concatenate([doc, np.asarray(extra[0], dtype=np.int64)])
        feat = np.concatenate([feat, np.asarray(extra[1], dtype=np.int64)])
        surf = np.concatenate([surf, np.asarray(extra[2], dtype=np.int64)])
        score = np.concatenate([score, np.asarray(extra[3], dtype=np.float64)])
        direct = np.concatenate([direct, np.asarray(extra[4], dtype=bool)])
    keep = score > 0
    doc, feat, surf, score, direct = (x[keep] for x in (doc, feat, surf, score, direct))
    # a word that carries the feature itself first, then the strongest
    order = np.lexsort((surf, -score, ~direct, feat, doc))
    doc, feat, surf, direct = doc[order], feat[order], surf[order], direct[order]
    first = np.ones(len(doc), dtype=bool)
    first[1:] = (doc[1:] != doc[:-1]) | (feat[1:] != feat[:-1])
    # a feature carried only through a broader concept is stored negative
    value = np.where(direct, 1.0, -1.0) * (surf + 1.0)
    return sp.csr_matrix((value[first], (doc[first], feat[first])), shape=(D.shape[0], T.shape[1]))


def count_blocks(
    vocab: Vocabulary,
    tables: ConceptTables,
    segs: Segments,
    profiles: list[Profile],
    category_text_weight: float,
) -> Counts:
    """Count every block for the profiles in ``segs``, with the surfaces of concepts and stems."""
    lex = vocab.lexicon
    n_tok = len(lex.tokens)
    D = sp.csr_matrix((segs.weight, (segs.doc, segs.tok)), shape=(segs.n_docs, n_tok))
    D.sum_duplicates()
    used = np.unique(segs.tok)
    W_word = _token_matrix(lambda t: vocab.tok_word[t], used, n_tok, len(vocab.words))
    W_char = _token_matrix(
        lambda t: ((c, vocab.tok_factor[t]) for c in vocab.tok_char[t]),
        used,
        n_tok,
        len(vocab.chars),
    )
    W_canon = _token_matrix(
        lambda t: [(vocab.tok_canon[t], 1.0)] if vocab.tok_canon[t] >= 0 else [],
        used,
        n_tok,
        len(vocab.words),
    )
    gated = lex.thesaurus.gated
    # stop words carry no evidence, also not through the thesaurus ("suchen" is not "search");
    # a cue-gated concept counts only where its cue is (below)
    K = _token_matrix(
        lambda t: (
            ()
            if lex.stop[t]
            else ((c, 1.0) for c in {m[0] for m in lex.concepts[t]} if not gated[c])
        ),
        used,
        n_tok,
        tables.n,
    )
    cued = cued_segments(lex, segs)
    phrase_counts, covered, hits = find_phrases(vocab, tables.n, segs, cued)
    gated_counts, gated_hits = find_cued(lex, tables.n, segs, cued)
    hits += gated_hits
    single = (D - covered).tocsr()
    single.eliminate_zeros()
    concepts = single @ K + phrase_counts + gated_counts
    concepts = (concepts @ tables.broader).tocsr()
    concepts = concepts @ sp.diags(tables.scale)
    implied = (concepts @ tables.categories).tocsr()
    peak = implied.max(axis=1).toarray().ravel()
    peak[peak == 0] = 1.0
    implied = sp.diags(category_text_weight / peak) @ implied
    explicit = explicit_categories(profiles)

    surfaces = list(vocab.display)
    phrase_ids: dict[tuple[int, ...], int] = {}
    extra: tuple[list, list, list, list, list] = ([], [], [], [], [])
    for doc, toks, concept_ids, weight in hits:
        sid = phrase_ids.get(toks)
        if sid is None:
            sid = phrase_ids[toks] = len(surfaces)
            surfaces.append(" ".join(vocab.display[t] for t in toks))
        for c in concept_ids:
            for b, v in tables.closure[c]:
                extra[0].append(doc)
                extra[1].append(b)
                extra[2].append(sid)
                extra[3].append(weight * v)
                extra[4].append(b == c)
    blocks = {
        "char": (D @ W_char).tocsr(),
        "word": (D @ W_word).tocsr(),
        "concept": sp.csr_matrix(concepts),
        "category": (implied + explicit).tocsr(),
    }
    return Counts(
        blocks=blocks,
        surface_word=_representatives(D, W_canon),
        surface_concept=_representatives(single, K @ tables.broader, K, extra),
        surfaces=surfaces,
    )


def cued_segments(lex: Lexicon, segs: Segments) -> set[int]:
    """Return the sentences where a cue of a cue-gated concept occurs.

    Each as ``segment * n_concepts + concept`` (one integer per pair, cheap to build and test).
    """
    th = lex.thesaurus
    if not th.cued_ids:
        return set()
    n_c = len(th.groups)
    counts = np.fromiter((len(c) for c in lex.cues), dtype=np.int64, count=len(lex.cues))
    at = np.flatnonzero(counts[segs.tok] > 0)
    if not len(at):
        return set()
    toks = segs.tok[at]
    flat = np.fromiter((c for t in toks.tolist() for c in lex.cues[t]), dtype=np.int64)
    keys = np.repeat(segs.seg[at], counts[toks]) * n_c + flat
    return set(np.unique(keys).tolist())


def record_hit(
    found: tuple[list, list, list, list], doc: int, tokens: tuple, concepts: list, weight: float
) -> None:
    """Add one match of ``tokens`` in document ``doc``: a matrix entry per concept, one hit."""
    rows, cols, values, hits = found
    for c in concepts:
        rows.append(doc)
        cols.append(c)
        values.append(weight)
    hits.append((doc, tokens, concepts, weight))


def find_cued(lex: Lexicon, n_concepts: int, segs: Segments, cued: set[int]):
    """Count cue-gated concepts whose words share a sentence with one of their cues.

    Returns counts (profile × concept) and hits ``(profile, (token,), [concept], weight)``
    like :func:`find_phrases`, so reasons can show the word.
    """
    empty = sp.csr_matrix((segs.n_docs, n_concepts))
    if not cued:
        return empty, []
    gated = lex.thesaurus.gated
    own: dict[int, list[int]] = {}
    for t in set(segs.tok.tolist()):
        if not lex.stop[t]:
            cs = sorted({m[0] for m in lex.concepts[t] if gated[m[0]]})
            if cs:
                own[t] = cs
    pr, pc, pv, hits = [], [], [], []
    if not own:
        return empty, []
    # occurrences of gated words only (few), then their sentence's cues
    at = np.isin(segs.tok, np.fromiter(own, dtype=np.int64, count=len(own)))
    for q in np.flatnonzero(at).tolist():
        t = int(segs.tok[q])
        seg = int(segs.seg[q])
        found = [c for c in own[t] if seg * n_concepts + c in cued]
        if not found:
            continue
        doc, weight = int(segs.doc[q]), float(segs.weight[q])
        record_hit((pr, pc, pv, hits), doc, (t,), found, weight)
    return sp.csr_matrix((pv, (pr, pc)), shape=(segs.n_docs, n_concepts)), hits


def find_phrases(vocab: Vocabulary, n_concepts: int, segs: Segments, cued: set[int] = frozenset()):
    """Find multi-word thesaurus phrases (a cue-gated concept's only with its cue: ``cued``
    as from :func:`cued_segments`).

    Returns phrase concept counts (profile × concept), the covered token occurrences
    (profile × token, their words count for the phrase only) and the hits as
    ``(profile, token ids, concepts, weight)``.
    """
    lex = vocab.lexicon
    th = lex.thesaurus
    n_tok = len(lex.tokens)
    empty = (
        sp.csr_matrix((segs.n_docs, n_concepts)),
        sp.csr_matrix((segs.n_docs, n_tok)),
        [],
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
    hits = []
    cov: dict[int, float] = {}
    n = len(s)
    for pos in cand.tolist():
        for key, concepts in first[int(bigram[pos])]:
            end = pos + len(key)
            if end > n or segs.seg[end - 1] != segs.seg[pos]:
                continue
            if len(key) > 2 and tuple(s[pos:end].tolist()) != key:
                continue
            seg = int(segs.seg[pos])
            concepts = [c for c in concepts if not th.gated[c] or seg * n_concepts + c in cued]
            if not concepts:
                continue
            doc, weight = int(segs.doc[pos]), float(segs.weight[pos])
            record_hit(
                (pr, pc, pv, hits), doc, tuple(segs.tok[pos:end].tolist()), sorted(concepts), weight
            )
            for q in range(pos, end):
                cov[q] = segs.weight[q]
    phrase_counts = sp.csr_matrix((pv, (pr, pc)), shape=(segs.n_docs, n_concepts))
    if cov:
        q = np.fromiter(cov, dtype=np.int64)
        covered = sp.csr_matrix(
            (np.fromiter(cov.values(), dtype=np.float64), (segs.doc[q], segs.tok[q])),
            shape=(segs.n_docs, n_tok),
        )
    else:
        covered = empty[1]
    return phrase_counts, covered, hits


def explicit_categories(profiles: list[Profile]) -> sp.csr_matrix:
    """One column per category code the profile states explicitly."""
    cat_index = {c: i for i, c in enumerate(CATEGORY_CODES)}
    r, c = [], []
    for i, p in enumerate(profiles):
        for code in dict.fromkeys(p.categories):
            if code in cat_index:
                r.append(i)
                c.append(cat_index[code])
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(profiles), len(CATEGORY_CODES)))


class BlockWeights:
    """IDF weights, pruning and block weights learnt on the fitted profiles.

    Turns raw counts into the profile vector: per block sublinear TF, IDF (only for the
    blocks in ``idf_blocks``), L2 norm; the
    concept block scaled down when its strongest concept is a generic one; the character
    block cut to n-grams shared by fitted profiles and to each profile's strongest
    ``char_top_n``; a latent semantic block (truncated SVD of the stem block, fitted on all
    profiles; its cosines can be slightly negative); a block whose weight is not given (the
    synonym block of an engine stored before it) weighs 0; blocks scaled by the square roots of
    their normalised weights, so the dot product of two vectors is the weighted mean of the
    block cosines.
    """

    def __init__(
        self,
        weights: dict[str, float],
        char_max_df: float,
        char_top_n: int | None,
        semantic_components: int,
        random_state: int = 0,
        idf_blocks: tuple[str, ...] = COUNTED,
        synonym_share: float = 0.0,
    ):
        total = sum(weights.get(b, 0.0) for b in BLOCKS)
        if total <= 0:
            raise ValueError("at least one block weight must be positive")
        self.weights = {b: weights.get(b, 0.0) / total for b in BLOCKS}
        self.char_max_df = char_max_df
        self.char_top_n = char_top_n
        self.semantic_components = semantic_components
        self.random_state = random_state
        self.idf_blocks = tuple(idf_blocks)
        self.synonym_share = synonym_share

    def fit(self, counts: dict[str, sp.csr_matrix], concept_scale: np.ndarray) -> BlockWeights:
        """Learn the kept n-grams and the IDF of every block."""
        n = counts["char"].shape[0]
        char = counts["char"]
        df = np.bincount(char.indices, minlength=char.shape[1])
        # the cut is for large corpora; in small ones every shared n-gram counts
        self.char_keep = np.flatnonzero(df <= max(10.0, self.char_max_df * n))
        self.char_shared = df[self.char_keep] >= 2
        self.concept_scale = concept_scale
        self.idf: dict[str, TfidfTransformer | None] = {}
        for name, tf in self._sublinear(counts).items():
            # a block outside ``idf_blocks`` keeps plain (sublinear) term frequencies
            self.idf[name] = (
                TfidfTransformer(norm=None, smooth_idf=True, use_idf=self._uses_idf(name)).fit(tf)
                if tf.shape[1]
                else None
            )
        # latent semantic analysis of the stems over all fitted profiles: words that keep
        # company in the event's own texts meet even when no thesaurus group links them
        self.lsa = None
        words = self._normalised(counts, "word")
        k = min(self.semantic_components, words.shape[0] - 1, words.shape[1] - 1)
        if self.weights["semantic"] > 0 and k >= 1 and words.nnz:
            self.lsa = TruncatedSVD(
                k, algorithm="randomized", n_iter=5, random_state=self.random_state
            )
            # a few thousand profiles span the latent topics as well as all of them do, at a
            # fraction of the cost; evenly spaced rows keep the sample deterministic
            step = max(1, words.shape[0] // LSA_SAMPLE)
            # identical profiles have no variance to explain (a 0/0 inside scikit-learn); its
            # dense steps are small (a few thousand rows × 50), see :func:`one_blas_thread`
            with np.errstate(invalid="ignore", divide="ignore"), one_blas_thread():
                self.lsa.fit(words[::step])
            if not np.isfinite(self.lsa.explained_variance_ratio_).all():
                self.lsa = None
        if self.lsa is None and self.weights["semantic"] > 0:
            # no latent space: the other blocks share the whole weight, so scores keep [0, 1]
            rest = 1.0 - self.weights["semantic"]
            if rest <= 0:
                raise ValueError("at least one block weight besides the semantic one is needed")
            self.weights = {
                b: (0.0 if b == "semantic" else w / rest) for b, w in self.weights.items()
            }
        return self

    def _uses_idf(self, name: str) -> bool:
        # the synonym sets extend the stem block and are weighted as the stems are
        return name in self.idf_blocks or (name == "synonym" and "word" in self.idf_blocks)

    def _normalised(self, counts: dict[str, sp.csr_matrix], name: str) -> sp.csr_matrix:
        tf = self._sublinear(counts, (name,))[name]
        tr = self.idf[name]
        return tf if tr is None else sp.csr_matrix(normalize(tr.transform(tf)))

    def _sublinear(
        self, counts: dict[str, sp.csr_matrix], names: tuple[str, ...] = COUNTED
    ) -> dict[str, sp.csr_matrix]:
        out = {}
        for name in names:
            tf = counts[name]
            if name == "char" and tf.shape[1]:
                tf = tf[:, self.char_keep]
            tf = sp.csr_matrix(tf, dtype=np.float64, copy=True)
            tf.data = np.log1p(tf.data)
            out[name] = tf
        return out

    def transform(self, counts: dict[str, sp.csr_matrix]) -> sp.csr_matrix:
        """Return the weighted profile vectors (float32 CSR, sorted indices)."""
        parts = {}
        for name, tf in self._sublinear(counts).items():
            # an engine stored before the synonym block has no IDF or weight for it: 0 columns
            tr = self.idf.get(name)
            block = tf if tr is None else normalize(tr.transform(tf))
            if name == "word":
                words = sp.csr_matrix(block)
            if name == "concept":
                block = self._confidence(block)
            elif name == "char":
                block = self._prune(block)
            parts[name] = sp.csr_matrix(block)
        weights = dict(self.weights)
        share = getattr(self, "synonym_share", 0.0)
        if share > 0:
            # the synonym sets extend the stem block: stems and synsets normalised together
            # (``share`` is the synsets' weight relative to the stems), the pair weighted as
            # the stem block; identical texts keep a cosine of 1
            w, syn = parts["word"], parts["synonym"]
            sq = np.asarray(w.multiply(w).sum(axis=1)).ravel()
            sq += share * np.asarray(syn.multiply(syn).sum(axis=1)).ravel()
            sq[sq == 0] = 1.0
            scale = sp.diags(1.0 / np.sqrt(sq))
            parts["word"] = sp.csr_matrix(scale @ w)
            parts["synonym"] = sp.csr_matrix(math.sqrt(share) * (scale @ syn))
            weights["synonym"] = weights["word"]
        blocks = [math.sqrt(weights.get(name, 0.0)) * parts[name] for name in parts]
        # not renormalised: a profile whose words the latent space hardly covers keeps a short
        # vector there instead of a unit vector pointing anywhere
        semantic = (
            sp.csr_matrix(self.lsa.transform(words))
            if self.lsa is not None
            else sp.csr_matrix((words.shape[0], 0))
        )
        blocks.append(math.sqrt(self.weights["semantic"]) * semantic)
        X = sp.hstack(blocks, format="csr", dtype=np.float32)
        X.sort_indices()
        return X

    def offsets(
        self, n_word: int, n_concept: int, n_synonym: int = 0
    ) -> dict[str, tuple[int, int]]:
        """Column range of every block in the profile vector."""
        sizes = {
            "char": len(self.char_keep),
            "word": n_word,
            "concept": n_concept,
            "category": len(CATEGORY_CODES),
            "synonym": n_synonym,
            "semantic": 0 if self.lsa is None else self.lsa.n_components,
        }
        out, start = {}, 0
        for name in BLOCKS:
            out[name] = (start, start + sizes[name])
            start += sizes[name]
        return out

    def _confidence(self, block: sp.spmatrix) -> sp.csr_matrix:
        """Shrink a concept vector whose strongest concept is a low-weight (generic) one.

        Group weights act before normalisation; a profile whose only concepts are generic
        ("KI", weight 0.1) would still get a unit vector, so it is scaled by its largest
        group weight (capped at 1).
        """
        block = sp.csr_matrix(block)
        if block.nnz == 0:
            return block
        present = block.copy()
        present.data = self.concept_scale[present.indices]
        confidence = np.minimum(present.max(axis=1).toarray().ravel(), 1.0)
        return sp.diags(confidence) @ block

    def _prune(self, block: sp.spmatrix) -> sp.csr_matrix:
        """Keep the ``char_top_n`` strongest character n-grams per profile."""
        block = sp.csr_matrix(block)
        n = self.char_top_n
        if n is None or block.shape[0] == 0:
            return block
        lengths = np.diff(block.indptr)
        # n-grams of a single fitted profile cannot contribute to any fitted pair: drop them
        # first, then keep each row's strongest n (values >= the row's n-th largest); rows are
        # not renormalised, so scores stay cosines minus the pruned mass
        keep = self.char_shared[block.indices]
        data = np.where(keep, block.data, 0.0)
        pos = np.arange(block.nnz) - np.repeat(block.indptr[:-1], lengths)
        padded = np.zeros((block.shape[0], max(int(lengths.max(initial=0)), n)))
        padded[np.repeat(np.arange(block.shape[0]), lengths), pos] = -data
        padded.partition(n - 1, axis=1)  # in place: the row's n-th largest value at n - 1
        threshold = -padded[:, n - 1]
        keep &= data >= np.repeat(threshold, lengths)
        keep &= data > 0
        rows = np.repeat(np.arange(block.shape[0]), lengths)[keep]
        return sp.csr_matrix((block.data[keep], (rows, block.indices[keep])), shape=block.shape)
