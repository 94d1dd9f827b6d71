"""Matching in the app: one fitted engine per worker, rebuilt when the profiles change.

Every request that needs suggestions reads the ``profiles`` data version (one
indexed row) and compares it with the version the cached engine was fitted on.
Any change to profiles or solutions bumps that version (``directory.indexing``), so
every gunicorn worker on every host refits exactly once per change and never per
request. The re-ranker learnt from feedback (``matching.feedback``) works the same way:
it lives in the database as an artefact, training bumps the ``reranker`` data version,
and each worker loads the newest artefact once per version.
"""

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker.directory.indexing import current_version
from matchmaker.directory.models import Profile, Solution
from matchmaker.extensions import db
from matchmaker.matching.engine import MatchEngine, Suggestion
from matchmaker.matching.engine import Profile as EngineProfile
from matchmaker.matching.engine.rerank import ReRanker, pair_features
from matchmaker.matching.models import ReRankerArtefact

log = logging.getLogger(__name__)
RERANKER_VERSION = "reranker"


@dataclass
class FittedModel:
    """A fitted engine with the directory rows it was fitted on."""

    version: int
    engine: MatchEngine | None
    profiles: dict[str, Profile]  # ref -> Profile (detached snapshot for display)
    ids: dict[int, str]  # profile id -> ref


class MatchingCache:
    """Hold one fitted model per app (per worker process) and refit when the data changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: FittedModel | None = None
        self._reranker: tuple[int, ReRanker | None] | None = None
        self.fits = 0

    def get(self) -> FittedModel:
        """Return a model fitted on the current data, refitting if the version moved."""
        version = current_version()
        model = self._model
        if model is not None and model.version == version:
            return model
        with self._lock:
            model = self._model
            if model is None or model.version != version:
                model = fit_model(version)
                self._model = model
                self.fits += 1
        return model

    def reranker(self) -> ReRanker | None:
        """Return the newest stored re-ranker (None before the first successful training)."""
        version = current_version(RERANKER_VERSION)
        cached = self._reranker
        if cached is not None and cached[0] == version:
            return cached[1]
        with self._lock:
            self._reranker = (version, load_reranker())
            return self._reranker[1]


def load_reranker() -> ReRanker | None:
    """Load the newest re-ranker artefact from the database."""
    row = db.session.scalar(select(ReRankerArtefact).order_by(ReRankerArtefact.id.desc()).limit(1))
    if row is None:
        return None
    try:
        return ReRanker.from_dict(row.model)
    except (KeyError, TypeError, ValueError):
        # an artefact of an older feature set: the engine's order until the next training
        log.warning("Re-ranker artefact %s does not fit this version; not used", row.id)
        return None


def engine_profile(profile: Profile) -> EngineProfile:
    """Turn a directory profile into the engine's input."""
    texts = [profile.description]
    categories = {c.code for c in profile.categories}
    for solution in profile.solutions:
        texts += [solution.title, solution.description]
        categories.update(c.code for c in solution.categories)
    sector = " ".join(
        part
        for part in (
            profile.sector.label_de if profile.sector else "",
            profile.sector_detail,
        )
        if part
    )
    return EngineProfile(
        ref=profile.ref,
        kind=profile.kind,
        text="\n".join(t for t in texts if t),
        name=profile.name,
        sector=sector,
        categories=tuple(sorted(categories)),
        tags=tuple(profile.tags or ()),
    )


def fit_model(version: int) -> FittedModel:
    """Load every profile and fit the engine on them."""
    profiles = list(
        db.session.scalars(
            select(Profile)
            .where(Profile.deleted_at.is_(None))
            .options(
                selectinload(Profile.categories),
                selectinload(Profile.solutions).selectinload(Solution.categories),
            )
            .order_by(Profile.id)
        )
    )
    by_ref = {p.ref: p for p in profiles}
    engine = None
    if profiles:
        params = current_app.config["MATCHING_PARAMS"]
        try:
            engine = MatchEngine(**params).fit([engine_profile(p) for p in profiles])
        except ValueError:
            # Suggestions are an extra on every page; a degenerate directory (e.g. texts
            # made only of stop words) must not take the pages down with it.
            current_app.logger.exception("Fitting the matching engine failed")
    for profile in profiles:
        db.session.expunge(profile)
    return FittedModel(
        version=version, engine=engine, profiles=by_ref, ids={p.id: p.ref for p in profiles}
    )


def cache() -> MatchingCache:
    """Return this app's matching cache."""
    return current_app.extensions.setdefault("matching_cache", MatchingCache())


def pair_scores(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """Score pairs of profiles with the fitted matching engine (0 for unknown profiles)."""
    model = cache().get()
    engine = model.engine
    scores: dict[tuple[int, int], float] = {}
    for a, b in pairs:
        ref_a, ref_b = model.ids.get(a), model.ids.get(b)
        known = engine is not None and ref_a is not None and ref_b is not None
        scores[(a, b)] = engine.score_pair(ref_a, ref_b) if known else 0.0
    return scores


def score_block(ids_a: Sequence[int], ids_b: Sequence[int]) -> np.ndarray:
    """Score every profile of ``ids_a`` with every one of ``ids_b`` (by id; 0 when unknown).

    One sparse product for the whole block, where :func:`pair_scores` goes pair by pair: the
    candidates of an event with thousands of participants.
    """
    model = cache().get()
    scores = np.zeros((len(ids_a), len(ids_b)))
    if model.engine is None:
        return scores
    rows = [i for i, pid in enumerate(ids_a) if pid in model.ids]
    cols = [j for j, pid in enumerate(ids_b) if pid in model.ids]
    if rows and cols:
        scores[np.ix_(rows, cols)] = model.engine.score_block(
            [model.ids[ids_a[i]] for i in rows], [model.ids[ids_b[j]] for j in cols]
        )
    return scores


def pair_reasons(a: int, b: int) -> list[str]:
    """Return the matching engine's reasons why two profiles (by id) fit (may be empty)."""
    return reasons_of([(a, b)])[(a, b)]


def reasons_of(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
    """Return :func:`pair_reasons` of many pairs, the model looked up once."""
    model = cache().get()
    pairs = list(pairs)
    found: dict[tuple[int, int], list[str]] = {pair: [] for pair in pairs}
    known = [
        (a, b) for a, b in pairs if model.engine is not None and a in model.ids and b in model.ids
    ]
    if known:
        # The engine words reasons from the SME's side; either order gives the same reasons.
        reasons = model.engine.reasons_of([(model.ids[a], model.ids[b]) for a, b in known])
        for pair, pair_found in zip(known, reasons, strict=True):
            found[pair] = list(pair_found)
    return found


@dataclass(frozen=True)
class ShownSuggestion:
    """A suggestion with the profile it points to, ready for a page or the API."""

    profile: Profile
    score: float
    reasons: tuple[str, ...]
    level: str = ""  # calibrated: "very_good", "good", "possible" or "" (see the engine)


def _shown(model: FittedModel, suggestions: list[Suggestion]) -> list[ShownSuggestion]:
    return [
        ShownSuggestion(model.profiles[s.ref], s.score, s.reasons, s.level)
        for s in suggestions
        if s.ref in model.profiles
    ]


def rerank_features(model: FittedModel, viewer_ref: str, refs: list[str]):
    """Describe the pairs viewer -> each of ``refs`` for the re-ranker (engine and region)."""
    region = (model.profiles[viewer_ref].region or "").strip().lower()
    same_region = [
        bool(region) and (model.profiles[ref].region or "").strip().lower() == region
        for ref in refs
    ]
    return pair_features(model.engine, viewer_ref, refs, same_region)


def suggestions_for(profile: Profile, k: int = 5) -> list[ShownSuggestion]:
    """Suggest the best partners of the other kind for one profile.

    Once a re-ranker has been trained on this installation's feedback, it re-orders the
    engine's best ``RERANK_POOL`` suggestions; scores and reasons stay the engine's.
    """
    model = cache().get()
    if model.engine is None or profile.ref not in model.profiles:
        return []
    reranker = cache().reranker()
    if reranker is None:
        return _shown(model, model.engine.suggest(profile.ref, k=k))
    pool = model.engine.suggest(profile.ref, k=max(k, current_app.config["RERANK_POOL"]))
    order = reranker.order(rerank_features(model, profile.ref, [s.ref for s in pool]))
    return _shown(model, [pool[i] for i in order[:k]])


def explain(profile_a: Profile, profile_b: Profile):
    """Explain why two profiles match (score, reasons, highlight spans), or None."""
    model = cache().get()
    if model.engine is None or profile_a.ref not in model.profiles:
        return None
    if profile_b.ref not in model.profiles:
        return None
    return model.engine.explain(profile_a.ref, profile_b.ref)


def all_suggestions(direction: str, k: int) -> dict[str, list[Suggestion]]:
    """Return the top-k suggestions of every SME (``sme``) or startup (``startup``)."""
    model = cache().get()
    if model.engine is None:
        return {}
    return model.engine.top_k_all(k=k, direction=direction)


@dataclass(frozen=True)
class PairRow:
    """One SME × startup pair of the organisers' overview."""

    sme: Profile
    startup: Profile
    score: float
    reasons: tuple[str, ...]


def pairs_above(
    threshold: float, sector: str = "", category: str = "", limit_per_sme: int = 50
) -> list[PairRow]:
    """Return every SME × startup pair scoring at least ``threshold``, best first."""
    model = cache().get()
    rows: list[PairRow] = []
    if model.engine is None:
        return rows
    for sme_ref, suggestions in model.engine.top_k_all(k=limit_per_sme, direction="sme").items():
        sme = model.profiles[sme_ref]
        if sector and (sme.sector is None or sme.sector.code != sector):
            continue
        for s in suggestions:
            if s.score < threshold:
                break
            startup = model.profiles[s.ref]
            if category and category not in _categories_of(sme) | _categories_of(startup):
                continue
            rows.append(PairRow(sme, startup, s.score, s.reasons))
    rows.sort(key=lambda r: (-r.score, r.sme.name, r.startup.name))
    return rows


def _categories_of(profile: Profile) -> set[str]:
    codes = {c.code for c in profile.categories}
    for solution in profile.solutions:
        codes.update(c.code for c in solution.categories)
    return codes


@dataclass(frozen=True)
class Unmatched:
    """A profile whose best suggestion stays below the threshold."""

    profile: Profile
    best: ShownSuggestion | None


def unmatched(threshold: float) -> list[Unmatched]:
    """Return the profiles with no suggestion of at least ``threshold``, weakest first."""
    model = cache().get()
    if model.engine is None:
        return []
    result = []
    for direction in ("sme", "startup"):
        for ref, suggestions in model.engine.top_k_all(k=1, direction=direction).items():
            best = suggestions[0] if suggestions else None
            if best is None or best.score < threshold:
                shown = _shown(model, [best])[0] if best else None
                result.append(Unmatched(model.profiles[ref], shown))
    result.sort(key=lambda u: (u.best.score if u.best else 0.0, u.profile.name))
    return result


def export_suggestions(limit: int, direction: str | None) -> dict[str, list[dict]]:
    """Return ``{ref: [{"ref", "score", "reasons"}, ...]}`` for every profile, best first."""
    directions = [direction] if direction else ["sme", "startup"]
    result: dict[str, list[dict]] = {}
    for d in directions:
        for ref, suggestions in all_suggestions(d, limit).items():
            result[ref] = [
                {"ref": s.ref, "score": round(float(s.score), 4), "reasons": list(s.reasons)}
                for s in suggestions
            ]
    return result
