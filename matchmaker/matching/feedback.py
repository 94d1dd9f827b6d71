"""Feedback on suggestions, and training the re-ranker on every kind of feedback.

A profile's owner marks a suggestion "passt" (fits) or "passt nicht" (does not fit). The
re-ranker learns from labelled pairs (viewer -> candidate, 1 or 0) that the layers above
gather (meeting requests, "must meet"/"not interested" marks, meeting ratings;
``scheduling.feedback.all_signals``) together with these verdicts. Training stores the fitted
re-ranker as a database artefact and bumps the ``reranker`` data version, so every worker
loads the same one (``services.MatchingCache.reranker``).
"""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from matchmaker.directory.indexing import bump_version
from matchmaker.directory.models import Profile
from matchmaker.extensions import db
from matchmaker.matching import services
from matchmaker.matching.engine.rerank import ReRanker, enough_feedback
from matchmaker.matching.models import FITS, VERDICTS, ReRankerArtefact, SuggestionMark

#: Where a labelled pair comes from, strongest first: when several sources speak about the
#: same pair, the first of these decides.
SOURCES = ("rating", "suggestion", "mark", "request")


class FeedbackError(Exception):
    """A verdict that cannot be recorded; ``message`` says why, in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Signal:
    """One piece of feedback: did ``viewer`` find ``candidate`` fitting (1) or not (0)?"""

    viewer_id: int
    candidate_id: int
    label: int
    source: str


def verdicts_of(profile: Profile) -> dict[int, str]:
    """Return the owner's verdicts on suggestions for a profile: suggested id -> verdict."""
    rows = db.session.execute(
        select(SuggestionMark.suggested_profile_id, SuggestionMark.verdict).where(
            SuggestionMark.viewer_profile_id == profile.id
        )
    ).tuples()
    return dict(rows.all())


def toggle_verdict(viewer: Profile, suggested: Profile, verdict: str) -> str | None:
    """Record a verdict on a suggestion, or take it back when it was already given.

    Returns the verdict now in force (None after taking it back). The caller has checked
    that the user owns ``viewer``.
    """
    if verdict not in VERDICTS:
        raise FeedbackError(_("Please choose “fits” or “does not fit”."))
    if viewer.kind == suggested.kind or suggested.deleted_at is not None:
        raise FeedbackError(_("Only suggestions of the other side can be marked."))
    mark = db.session.scalar(
        select(SuggestionMark).where(
            SuggestionMark.viewer_profile_id == viewer.id,
            SuggestionMark.suggested_profile_id == suggested.id,
        )
    )
    if mark is not None and mark.verdict == verdict:
        db.session.delete(mark)
        db.session.flush()
        return None
    if mark is None:
        mark = SuggestionMark(viewer_profile_id=viewer.id, suggested_profile_id=suggested.id)
        db.session.add(mark)
    mark.verdict = verdict
    db.session.flush()
    return verdict


def suggestion_signals() -> list[Signal]:
    """Return every verdict on a suggestion as a labelled pair."""
    return [
        Signal(viewer, suggested, int(verdict == FITS), "suggestion")
        for viewer, suggested, verdict in db.session.execute(
            select(
                SuggestionMark.viewer_profile_id,
                SuggestionMark.suggested_profile_id,
                SuggestionMark.verdict,
            ).order_by(SuggestionMark.id)
        ).tuples()
    ]


def labelled_pairs(signals: Iterable[Signal]) -> dict[tuple[int, int], int]:
    """Collapse signals into one label per (viewer, candidate): the strongest source decides.

    Among signals of the same source the last one given wins.
    """
    rank = {source: i for i, source in enumerate(SOURCES)}
    best: dict[tuple[int, int], tuple[int, int]] = {}
    for signal in signals:
        key = (signal.viewer_id, signal.candidate_id)
        strength = rank[signal.source]
        if key not in best or strength <= best[key][0]:
            best[key] = (strength, signal.label)
    return {key: label for key, (_strength, label) in best.items()}


@dataclass(frozen=True)
class TrainingOutcome:
    """What a training run found and whether it stored a new re-ranker."""

    pairs: int
    positives: int
    min_pairs: int
    artefact: ReRankerArtefact | None

    @property
    def trained(self) -> bool:
        """Tell whether a new re-ranker was stored."""
        return self.artefact is not None

    def as_dict(self) -> dict:
        """Return the outcome as JSON-ready data (a job's result)."""
        return {
            "pairs": self.pairs,
            "positives": self.positives,
            "negatives": self.pairs - self.positives,
            "min_pairs": self.min_pairs,
            "trained": self.trained,
            "artefact": self.artefact.id if self.artefact else None,
        }


def train(signals: Iterable[Signal]) -> TrainingOutcome:
    """Fit a re-ranker on the signals and store it; below the minimum store nothing.

    Pairs whose profiles the engine does not know (deleted, placeholders) or of the same
    kind are left out. The previous re-ranker stays in use when there is too little data.
    """
    min_pairs = current_app.config["RERANK_MIN_PAIRS"]
    model = services.current_model()
    kinds: dict[str, str] = {}
    refs: dict[int, str] = {}
    if model is not None and model.engine is not None:
        kinds = dict(zip(model.engine.refs_, model.engine.kinds_.tolist(), strict=True))
        refs = model.refs
    by_viewer: dict[int, list[tuple[int, int]]] = {}
    for (viewer, candidate), label in labelled_pairs(signals).items():
        ref_v, ref_c = refs.get(viewer), refs.get(candidate)
        if ref_v is None or ref_c is None or ref_v not in kinds or ref_c not in kinds:
            continue
        if kinds[ref_v] == kinds[ref_c]:
            continue
        by_viewer.setdefault(viewer, []).append((candidate, label))
    rows, labels, viewers = [], [], []
    for viewer, items in by_viewer.items():
        rows.append(services.rerank_features(model, viewer, [pid for pid, _label in items]))
        labels += [label for _pid, label in items]
        viewers += [viewer] * len(items)
    positives = sum(labels)
    if not enough_feedback(labels, min_pairs):
        return TrainingOutcome(len(labels), positives, min_pairs, None)
    reranker = ReRanker(min_pairs=min_pairs).fit(np.vstack(rows), labels, groups=viewers)
    artefact = ReRankerArtefact(
        model=reranker.to_dict(),
        pairs=len(labels),
        positives=positives,
        profiles_version=model.version if model else 0,
    )
    db.session.add(artefact)
    bump_version(services.RERANKER_VERSION)
    db.session.flush()
    return TrainingOutcome(len(labels), positives, min_pairs, artefact)


def current_artefact() -> ReRankerArtefact | None:
    """Return the re-ranker artefact in use (the newest), if any."""
    return db.session.scalar(select(ReRankerArtefact).order_by(ReRankerArtefact.id.desc()).limit(1))
