"""A background corpus of real domain texts, and the concept links learnt on it.

An event has a few dozen to a few hundred profiles: too few to learn that "Lösegeld" keeps
company with ransomware or "Stammkunden rufen an" with a phone assistant.  The background is a
few hundred unlabelled real texts of the domain (needs of German SMEs and offers of AI
startups, short excerpts of public pages; ``background.json.gz``, with sources and licence,
built by ``bench/build_background.py``).  Together with the event's own profiles they link a
stem to the thesaurus concepts found in most texts that contain it (:func:`concept_links`);
background texts are never matched, scored or shown.

Counts are keyed by stem and concept id, so they map onto any fitted vocabulary; the packaged
corpus is analysed once per process and thesaurus (cached).  The corpus helps the events it
was not built from; for an honest measure the bench builds it without the scored set's texts.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from matchmaker.language.thesaurus import Thesaurus, load_cached
from matchmaker.matching.engine.features import (
    ConceptTables,
    Vocabulary,
    count_blocks,
    make_segments,
    tokenize_profiles,
)
from matchmaker.matching.engine.records import Profile

__all__ = [
    "PACKAGED",
    "Background",
    "concept_links",
    "load",
    "load_texts",
    "resolve",
    "thesaurus_fingerprint",
]

PACKAGED = Path(__file__).with_name("background.json.gz")
LIFT = 2.0  # a linked concept is at least this much more frequent among a stem's texts


class Background:
    """Stem and concept counts of background texts (documents × stems or concepts)."""

    def __init__(
        self,
        words: list[str],
        counts: sp.csr_matrix,
        concept_ids: list[str],
        concepts: sp.csr_matrix,
    ):
        self.words = list(words)
        self.counts = sp.coo_matrix(counts)  # documents × words
        self.concept_ids = list(concept_ids)
        self.concepts = sp.coo_matrix(concepts)  # documents × concepts (broader ones included)

    @classmethod
    def from_texts(cls, texts: Iterable[str], thesaurus: Thesaurus) -> Background:
        """Analyse texts as the engine analyses a profile's free text (default weights)."""
        profiles = [Profile(f"bg-{i}", "sme", t) for i, t in enumerate(texts) if t.strip()]
        vocab = Vocabulary(thesaurus, (3, 5), 1.0)
        seg_tokens, seg_doc, seg_w, display = tokenize_profiles(profiles, 1.0, 0.0)
        vocab.add(seg_tokens, display, grow=True, with_chars=False)
        segs = make_segments(vocab, seg_tokens, seg_doc, seg_w, len(profiles))
        words = sorted(vocab.words, key=vocab.words.get)
        blocks = count_blocks(vocab, ConceptTables(thesaurus), segs, profiles, 0.5).blocks
        return cls(words, blocks["word"], thesaurus.ids, blocks["concept"])

    def to_dict(self) -> dict:
        """The counts as JSON-ready lists (stored next to the texts, see :func:`load`)."""
        return {
            "words": self.words,
            "concepts": self.concept_ids,
            "word_counts": _triples(self.counts),
            "concept_counts": _triples(self.concepts),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Background:
        n = d["word_counts"]["n"]
        return cls(
            d["words"],
            _matrix(d["word_counts"], (n, len(d["words"]))),
            d["concepts"],
            _matrix(d["concept_counts"], (n, len(d["concepts"]))),
        )

    def __len__(self) -> int:
        return self.counts.shape[0]

    def rows_for(self, columns: dict[str, int]) -> sp.csr_matrix:
        """The word counts in the columns of a fitted vocabulary (words it lacks left out)."""
        return _mapped(self.counts, self.words, columns)

    def concepts_for(self, ids: list[str]) -> sp.csr_matrix:
        """The concept counts in the columns of a thesaurus (concepts it lacks left out)."""
        return _mapped(self.concepts, self.concept_ids, {c: i for i, c in enumerate(ids)})


def _mapped(counts: sp.coo_matrix, names: list[str], columns: dict[str, int]) -> sp.csr_matrix:
    index = np.fromiter((columns.get(n, -1) for n in names), dtype=np.int64, count=len(names))
    cols = index[counts.col]
    keep = cols >= 0
    return sp.csr_matrix(
        (counts.data[keep], (counts.row[keep], cols[keep])),
        shape=(counts.shape[0], len(columns)),
    )


def _triples(m: sp.coo_matrix) -> dict:
    m = sp.coo_matrix(m)
    return {
        "n": int(m.shape[0]),
        "row": m.row.tolist(),
        "col": m.col.tolist(),
        "data": [round(float(v), 4) for v in m.data],
    }


def _matrix(t: dict, shape: tuple[int, int]) -> sp.coo_matrix:
    return sp.coo_matrix((t["data"], (t["row"], t["col"])), shape=shape)


def thesaurus_fingerprint() -> str:
    """SHA-256 of the packaged ``thesaurus.txt`` (the stored counts were analysed with it)."""
    source = resources.files("matchmaker.language").joinpath("thesaurus.txt")
    return hashlib.sha256(source.read_bytes()).hexdigest()


def load(path: str | Path = PACKAGED) -> dict:
    """A background file: gzipped JSON with ``texts`` (records with ``text`` and
    ``source_url``) and optionally ``analysis`` (their counts and the thesaurus fingerprint)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def load_texts(path: str | Path = PACKAGED) -> list[str]:
    """The texts of a background file."""
    return [r["text"] for r in load(path)["texts"]]


@lru_cache(maxsize=4)
def _packaged(thesaurus: Thesaurus) -> Background:
    doc = load()
    stored = doc.get("analysis")
    # the stored counts hold while the packaged thesaurus is the one they were analysed with;
    # otherwise the texts are analysed again (a few tenths of a second, once per process)
    if (
        stored is not None
        and thesaurus is load_cached(None)
        and stored["thesaurus_sha256"] == thesaurus_fingerprint()
    ):
        return Background.from_dict(stored)
    return Background.from_texts([r["text"] for r in doc["texts"]], thesaurus)


def resolve(spec, thesaurus: Thesaurus) -> Background | None:
    """``True``: the packaged corpus; ``False``/``None``: none; a :class:`Background`: itself;
    a sequence of strings: those texts."""
    if spec is None or spec is False:
        return None
    if spec is True:
        return _packaged(thesaurus)
    if isinstance(spec, Background):
        return spec
    return Background.from_texts(list(spec), thesaurus)


def concept_links(
    words: sp.csr_matrix, concepts: sp.csr_matrix, min_df: int, min_share: float
) -> sp.csr_matrix:
    """Stem × concept links: a stem found in at least ``min_df`` documents is linked to the
    concepts present in at least ``min_share`` of them (and at least twice as often as in all
    documents); the value is that share."""
    W = sp.csr_matrix(words, copy=True)
    W.data = (W.data > 0).astype(np.float64)
    W.eliminate_zeros()
    C = sp.csr_matrix(concepts, copy=True)
    C.data = (C.data > 0).astype(np.float64)
    C.eliminate_zeros()
    n = W.shape[0]
    df_w = np.asarray(W.sum(axis=0)).ravel()
    p_c = np.asarray(C.sum(axis=0)).ravel() / max(n, 1)
    co = (W.T @ C).tocoo()
    share = co.data / np.maximum(df_w[co.row], 1)
    keep = (df_w[co.row] >= min_df) & (share >= min_share) & (share >= LIFT * p_c[co.col])
    return sp.csr_matrix(
        (share[keep], (co.row[keep], co.col[keep])), shape=(W.shape[1], C.shape[1])
    )
