"""Matching engine: rank AI startups for SMEs (and SMEs for startups) from free text.

Pure scikit-learn/numpy/scipy; no Flask, no database.  The app builds :class:`Profile` objects,
fits one :class:`MatchEngine` per change of the profiles, and asks it for suggestions.

Modules, by concern
-------------------
The text analysis (tokens, folding, stop words, stems, compound parts: ``Lexicon``) and the
bilingual concept thesaurus with its data file live in :mod:`matchmaker.language`, shared with
directory search.

``features``     feature blocks (characters, stems, concepts, categories) and their weighting
``topk``         exact top-k over sparse products in row blocks
``explain``      reasons (shared concepts and stems) and highlight spans
``background``   packaged background corpus of real domain texts and the stem→concept links
                 learnt on it (``background.json.gz``)
``calibration``  calibrated levels from labelled data (table ``levels.json``)
``estimator``    :class:`MatchEngine`, the scikit-learn style estimator tying them together

Interface
---------
``Profile(ref, kind, text, name="", sector="", categories=(), tags=())``
    ``kind`` is ``"sme"`` or ``"startup"``; ``text`` is the SME's needs, or the startup's offering
    plus its solutions' titles/descriptions; ``categories`` are use-case codes from
    :data:`CATEGORY_CODES`; ``tags`` are keywords.
``MatchEngine(**params).fit(profiles) -> MatchEngine``
``engine.suggest(ref, k=10)``, ``engine.suggest_text(text, kind, k=10, ...)``,
``engine.top_k_all(k, direction)``, ``engine.top_k_both(k)`` -> :class:`Suggestion` lists
    ``Suggestion(ref, score, reasons, level)``: ``score`` in [0, 1], ``reasons`` at most
    ``max_reasons`` :class:`Reason` strings ("Absatzprognose: Bedarfsprognose ↔ demand
    forecast"), ``level`` one of ``"very_good"``, ``"good"``, ``"possible"``, ``""``.
``engine.score_pair(a, b)``, ``engine.score_matrix(direction)``, ``engine.explain(a, b)``
    ``explain`` adds character :class:`Span` s of the words carrying the shared concepts.

Nothing here changes a fitted engine after ``fit``: new texts are analysed in a copy.
"""

from matchmaker.language.thesaurus import CATEGORY_CODES
from matchmaker.matching.engine.estimator import MatchEngine
from matchmaker.matching.engine.records import (
    KINDS,
    Explanation,
    Profile,
    Reason,
    Span,
    Suggestion,
)
from matchmaker.matching.engine.topk import top_k_pairs

__all__ = [
    "CATEGORY_CODES",
    "KINDS",
    "Explanation",
    "MatchEngine",
    "Profile",
    "Reason",
    "Span",
    "Suggestion",
    "top_k_pairs",
]
