"""Matching in the app: suggestions, pair scores and reasons from the newest stored model.

The engine is fitted by a job once per version of the profiles and stored in the database
(``matching/artefacts.py``); web requests never fit. Every request that needs the model reads
the id of the newest artefact (one indexed row) and uses the engine this process loaded for
it; when a newer artefact appears, a background thread loads it while requests go on with the
previous one (``MATCHING_LOAD_IN_BACKGROUND``). A profile changed since the fit (its input's
fingerprint differs) is vectorised with the fitted model, so its own suggestions are current
at once. Before the first artefact exists, suggestions are empty and pages say they are being
computed (``suggestions_pending``). The re-ranker learnt from feedback (``matching.feedback``)
is stored the same way: training bumps the ``reranker`` data version, and each worker loads
the newest re-ranker once per version.
"""

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from flask import Flask, current_app
from sqlalchemy import select

from matchmaker.directory.indexing import PROFILES_VERSION, current_version
from matchmaker.directory.models import (
    Profile,
)
from matchmaker.extensions import db
from matchmaker.matching import artefacts
from matchmaker.matching.artefacts import LoadedModel, engine_profile, fingerprint, live_profiles
from matchmaker.matching.engine import Profile as EngineProfile
from matchmaker.matching.engine import Suggestion
from matchmaker.matching.engine.rerank import ReRanker, pair_features
from matchmaker.matching.models import ReRankerArtefact

log = logging.getLogger(__name__)
RERANKER_VERSION = "reranker"


class ModelCache:
    """Hold the model this process loaded, keyed by the artefact id the database names."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: LoadedModel | None = None
        self._loading: threading.Thread | None = None
        self._reranker: tuple[int, ReRanker | None] | None = None
        self.loads = 0

    def get(self, wait: bool = False) -> LoadedModel | None:
        """Return the loaded model of the newest artefact (or of the previous one while loading).

        With ``wait`` the newest is loaded at once, whatever ``MATCHING_LOAD_IN_BACKGROUND``
        says: a job that must score with the current model.
        """
        head = artefacts.newest()
        return self.model_for(head[0] if head is not None else None, wait=wait)

    def model_for(self, artefact_id: int | None, wait: bool = False) -> LoadedModel | None:
        """Return the loaded model of the artefact the caller read as the newest (see ``get``)."""
        if artefact_id is None:
            return None
        model = self._model
        if model is not None and model.artefact_id == artefact_id:
            return model
        app = current_app._get_current_object()
        if model is not None and app.config["MATCHING_LOAD_IN_BACKGROUND"] and not wait:
            self._load_in_background(app, artefact_id)
            return model
        with self._lock:
            if self._model is None or self._model.artefact_id != artefact_id:
                self._install(artefacts.load(artefact_id))
        return self._model

    def _install(self, model: LoadedModel | None) -> None:
        # A pruned artefact loads as None; the next request asks for the newest again (and
        # replaces a model that is not the newest, e.g. after a restore restarted the ids).
        if model is not None:
            self._model = model
            self.loads += 1

    def _load_in_background(self, app: Flask, artefact_id: int) -> None:
        with self._lock:
            if self._loading is not None and self._loading.is_alive():
                return
            self._loading = threading.Thread(
                target=self._load, args=(app, artefact_id), name="matching-load", daemon=True
            )
            self._loading.start()

    def _load(self, app: Flask, artefact_id: int) -> None:
        try:
            with app.app_context():
                model = artefacts.load(artefact_id)
            with self._lock:
                self._install(model)
        except Exception:
            log.exception("Loading matching artefact %s failed", artefact_id)

    def reranker(self, version: int | None = None) -> ReRanker | None:
        """Return the newest stored re-ranker (None before the first successful training).

        ``version``: the ``reranker`` data version, if the caller has read it already.
        """
        if version is None:
            version = current_version(RERANKER_VERSION)
        cached = self._reranker
        if cached is not None and cached[0] == version:
            return cached[1]
        with self._lock:
            self._reranker = (version, load_reranker())
            return self._reranker[1]

    def wait(self, timeout: float | None = None) -> None:
        """Wait until a background load has ended (tests and benchmarks)."""
        thread = self._loading
        if thread is not None:
            thread.join(timeout)


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


def cache() -> ModelCache:
    """Return this app's model cache."""
    return current_app.extensions.setdefault("matching_cache", ModelCache())


def current_model() -> LoadedModel | None:
    """Return the model to use now, or None before the first artefact exists."""
    return cache().get()


def newest_model() -> LoadedModel | None:
    """Load the newest model now and use it from here on (jobs; requests: ``current_model``)."""
    return cache().get(wait=True)


def suggestions_pending() -> bool:
    """Tell whether no model exists yet (suggestions are being computed)."""
    return current_model() is None


def _query_item(model: LoadedModel, profile: Profile) -> str | EngineProfile:
    """Return the engine's reference of a profile fitted as it is, else its current input."""
    item = engine_profile(profile)
    ref = model.refs.get(profile.id)
    if ref is not None and model.fingerprints.get(ref) == fingerprint(item):
        return ref
    return item


def _query_items(model: LoadedModel, ids: Iterable[int]) -> dict[int, str | EngineProfile]:
    """Return the query items of the live profiles among ``ids`` (see ``_query_item``).

    A model fitted on the current ``profiles`` version fitted every profile as it is now:
    its references stand without loading the profiles to compare their texts (thousands at
    a large event's build); only live profiles it does not know are loaded.
    """
    ids = sorted(set(ids))
    items: dict[int, str | EngineProfile] = {}
    if not ids:
        return items
    if model.version >= current_version():
        live = db.session.scalars(
            select(Profile.id).where(Profile.id.in_(ids), Profile.deleted_at.is_(None))
        ).all()
        items = {pid: model.refs[pid] for pid in live if pid in model.refs}
        ids = [pid for pid in live if pid not in model.refs]
        if not ids:
            return items
    items.update((p.id, _query_item(model, p)) for p in live_profiles(ids))
    return items


@dataclass
class Scoring:
    """The model of one run (a schedule build) with its profiles as that model reads them.

    Handed to :func:`score_block`, :func:`pair_scores` and :func:`reasons_of`, so a build
    scores and words its meetings with one model and reads its profiles once; a profile
    first asked for later (a past meeting's partner kept in a re-plan) is read then.
    """

    model: LoadedModel | None
    items: dict[int, str | EngineProfile] = field(default_factory=dict)
    read: set[int] = field(default_factory=set)

    @property
    def usable(self) -> bool:
        """Tell whether a model with an engine exists (else every score is 0, no reasons)."""
        return self.model is not None and self.model.engine is not None

    def items_of(self, ids: Iterable[int]) -> dict[int, str | EngineProfile]:
        """Return the query items read so far, after reading those of ``ids`` not read yet."""
        missing = set(ids) - self.read
        if missing and self.usable:
            self.items.update(_query_items(self.model, missing))
        self.read |= missing
        return self.items


def read_for_scoring(ids: Iterable[int] = ()) -> Scoring:
    """Return the model to use now with the profiles of ``ids`` read for it (see Scoring)."""
    scoring = Scoring(current_model())
    scoring.items_of(ids)
    return scoring


def pair_scores(
    pairs: Iterable[tuple[int, int]], scoring: Scoring | None = None
) -> dict[tuple[int, int], float]:
    """Score pairs of profiles with the stored matching engine (0 for unknown profiles)."""
    pairs = list(pairs)
    scores = dict.fromkeys(pairs, 0.0)
    scoring = scoring or Scoring(current_model())
    if not scoring.usable:
        return scores
    model = scoring.model
    items = scoring.items_of(i for pair in pairs for i in pair)
    known = [(a, b) for a, b in pairs if a in items and b in items]
    values = model.engine.score_pairs([(items[a], items[b]) for a, b in known])
    scores.update(zip(known, values, strict=True))
    return scores


def score_block(
    ids_a: Sequence[int], ids_b: Sequence[int], scoring: Scoring | None = None
) -> np.ndarray:
    """Score every profile of ``ids_a`` with every one of ``ids_b`` (by id; 0 when unknown).

    One sparse product for the profiles the stored model fitted as they are now, where
    :func:`pair_scores` goes pair by pair: the candidates of an event with thousands of
    participants. Pairs with a profile new or changed since the fit are scored pair by pair
    with its current text, as :func:`pair_scores` does.
    """
    scores = np.zeros((len(ids_a), len(ids_b)))
    scoring = scoring or Scoring(current_model())
    if not scoring.usable:
        return scores
    model = scoring.model
    items = scoring.items_of([*ids_a, *ids_b])
    fitted = {pid for pid, item in items.items() if isinstance(item, str)}
    rows = [i for i, pid in enumerate(ids_a) if pid in fitted]
    cols = [j for j, pid in enumerate(ids_b) if pid in fitted]
    if rows and cols:
        scores[np.ix_(rows, cols)] = model.engine.score_block(
            [model.refs[ids_a[i]] for i in rows], [model.refs[ids_b[j]] for j in cols]
        )
    # only the rows and columns of profiles changed since the fit: no loop over the whole block
    known_rows = [i for i, pid in enumerate(ids_a) if pid in items]
    known_cols = [j for j, pid in enumerate(ids_b) if pid in items]
    changed_rows = {i for i in known_rows if ids_a[i] not in fitted}
    changed_cols = [j for j in known_cols if ids_b[j] not in fitted]
    changed = [(i, j) for i in sorted(changed_rows) for j in known_cols]
    changed += [(i, j) for i in known_rows if i not in changed_rows for j in changed_cols]
    if changed:
        values = model.engine.score_pairs([(items[ids_a[i]], items[ids_b[j]]) for i, j in changed])
        for (i, j), value in zip(changed, values, strict=True):
            scores[i, j] = value
    return scores


def reasons_of(
    pairs: Iterable[tuple[int, int]], scoring: Scoring | None = None
) -> dict[tuple[int, int], list[str]]:
    """Return :func:`pair_reasons` of many pairs, the model looked up once.

    Profiles fitted as they are now are worded in one batch; one new or changed since the fit
    is vectorised with its current text, as :func:`score_block` does. With ``scoring``, the
    pairs are worded with its model and the profiles it read.
    """
    pairs = list(pairs)
    found: dict[tuple[int, int], list[str]] = {pair: [] for pair in pairs}
    scoring = scoring or Scoring(current_model())
    if not scoring.usable:
        return found
    model = scoring.model
    items = scoring.items_of(i for pair in pairs for i in pair)
    known = [(a, b) for a, b in pairs if a in items and b in items]
    if known:
        # The engine words reasons from the SME's side; either order gives the same reasons.
        reasons = model.engine.reasons_of([(items[a], items[b]) for a, b in known])
        for pair, pair_found in zip(known, reasons, strict=True):
            found[pair] = list(pair_found)
    return found


def pair_reasons(a: int, b: int) -> list[str]:
    """Return the matching engine's reasons why two profiles (by id) fit (may be empty)."""
    model = current_model()
    if model is None or model.engine is None:
        return []
    items = _query_items(model, (a, b))
    if a not in items or b not in items:
        return []
    # The engine words reasons from the SME's side; either order gives the same reasons.
    return list(model.engine.explain(items[a], items[b]).reasons)


@dataclass(frozen=True)
class ShownSuggestion:
    """A suggestion with the profile it points to, ready for a page or the API."""

    profile: Profile
    score: float
    reasons: tuple[str, ...]
    level: str = ""  # calibrated: "very_good", "good", "possible" or "" (see the engine)


def _shown(model: LoadedModel, suggestions: list[Suggestion]) -> list[ShownSuggestion]:
    """Attach the current directory rows; profiles deleted since the fit are left out."""
    ids = [model.ids[s.ref] for s in suggestions if s.ref in model.ids]
    query = select(Profile).where(Profile.id.in_(ids), Profile.deleted_at.is_(None))
    rows = {p.id: p for p in db.session.scalars(query)} if ids else {}
    shown = []
    for s in suggestions:
        profile = rows.get(model.ids.get(s.ref, -1))
        if profile is not None:
            shown.append(ShownSuggestion(profile, s.score, s.reasons, s.level))
    return shown


def rerank_features(model: LoadedModel, viewer_id: int, ids: list[int]):
    """Describe the pairs viewer -> each of ``ids`` for the re-ranker (engine and region)."""
    regions = {
        p.id: (p.region or "").strip().lower() for p in live_profiles(sorted({viewer_id, *ids}))
    }
    region = regions.get(viewer_id, "")
    same_region = [bool(region) and regions.get(pid, "") == region for pid in ids]
    return pair_features(
        model.engine, model.refs[viewer_id], [model.refs[pid] for pid in ids], same_region
    )


def suggestions_for(profile: Profile, k: int = 5) -> list[ShownSuggestion]:
    """Suggest the best partners of the other kind for one profile.

    Once a re-ranker has been trained on this installation's feedback, it re-orders the
    engine's best ``RERANK_POOL`` suggestions of a profile fitted as it is now; scores and
    reasons stay the engine's.
    """
    head = artefacts.head(PROFILES_VERSION, RERANKER_VERSION)
    models = cache()
    model = models.model_for(head.id if head is not None else None)
    if model is None or model.engine is None or profile.deleted_at is not None:
        return []
    if head.versions[PROFILES_VERSION] == model.version and profile.id in model.refs:
        # No profile changed since the fit: no need to read this one's texts to tell.
        item = model.refs[profile.id]
    else:
        item = _query_item(model, profile)
    reranker = models.reranker(head.versions[RERANKER_VERSION]) if isinstance(item, str) else None
    if reranker is None:
        return _shown(model, _suggest(model, item, k))
    pool = _suggest(model, item, max(k, current_app.config["RERANK_POOL"]))
    pool = [s for s in pool if s.ref in model.ids]
    features = rerank_features(model, profile.id, [model.ids[s.ref] for s in pool])
    order = reranker.order(features)
    return _shown(model, [pool[i] for i in order[:k]])


def _suggest(model: LoadedModel, item: str | EngineProfile, k: int) -> list[Suggestion]:
    """Return the engine's suggestions, kept with the model.

    A fitted profile's are kept by its reference; those of a profile new or changed since the
    fit by the fingerprint of its current input, so an edit is seen at once and repeated
    requests do not vectorise the same input again.
    """
    key = (item if isinstance(item, str) else fingerprint(item), k)
    found = model.suggested.get(key)
    if found is None:
        found = model.engine.suggest(item, k=k)
        model.suggested.put(key, found)
    return found


def suggest_current(
    model: LoadedModel, profiles: Sequence[Profile], k: int
) -> dict[int, list[Suggestion]]:
    """Return the engine's top ``k`` of the profiles new or changed since the fit, by id.

    The suggestions of their current input, as their profile pages show them (before any
    re-ranking), without reasons, vectorised in one batch per kind. Profiles the model fitted
    as they are (their fitted suggestions stand) are left out.
    """
    found: dict[int, list[Suggestion]] = {}
    for kind in ("sme", "startup"):
        changed = [
            (p.id, item)
            for p in profiles
            if p.kind == kind and not isinstance(item := _query_item(model, p), str)
        ]
        ranked = model.engine.suggest_many([item for _, item in changed], k, reasons=False)
        found.update(zip((pid for pid, _ in changed), ranked, strict=True))
    return found


def explain(profile_a: Profile, profile_b: Profile):
    """Explain why two profiles match (score, reasons, highlight spans), or None."""
    model = current_model()
    if model is None or model.engine is None:
        return None
    return model.engine.explain(_query_item(model, profile_a), _query_item(model, profile_b))


def all_suggestions(direction: str, k: int) -> dict[str, list[Suggestion]]:
    """Return the top-k suggestions of every fitted SME (``sme``) or startup (``startup``)."""
    model = current_model()
    if model is None or model.engine is None:
        return {}
    return model.engine.top_k_all(k=k, direction=direction)


def _fitted_rows(model: LoadedModel) -> dict[str, Profile]:
    """Return the live directory rows of the fitted profiles by the engine's reference."""
    return {model.refs[p.id]: p for p in live_profiles() if p.id in model.refs}


@dataclass(frozen=True)
class Unmatched:
    """A profile whose best suggestion stays below the threshold."""

    profile: Profile
    best: ShownSuggestion | None


def unmatched(threshold: float) -> list[Unmatched]:
    """Return the profiles with no suggestion of at least ``threshold``, weakest first."""
    model = current_model()
    if model is None or model.engine is None:
        return []
    profiles = _fitted_rows(model)
    result = []
    for direction in ("sme", "startup"):
        for ref, suggestions in model.engine.top_k_all(k=1, direction=direction).items():
            best = suggestions[0] if suggestions else None
            if ref not in profiles:
                continue
            if best is None or best.score < threshold:
                other = profiles.get(best.ref) if best else None
                shown = (
                    ShownSuggestion(other, best.score, best.reasons, best.level) if other else None
                )
                result.append(Unmatched(profiles[ref], shown))
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
