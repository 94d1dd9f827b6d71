"""Matching tables: the fitted engine (stored once per data version for every worker and host)
with the organisers' overview ranked on it, feedback on suggestions ("passt" / "passt nicht")
and the fitted re-rankers."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.core.clock import utcnow
from matchmaker.extensions import db

FITS = "fits"
NO_FIT = "no_fit"
VERDICTS = (FITS, NO_FIT)


class SuggestionMark(db.Model):
    """A profile owner's verdict on one suggestion shown for that profile."""

    __tablename__ = "suggestion_marks"
    __table_args__ = (
        UniqueConstraint(
            "viewer_profile_id",
            "suggested_profile_id",
            name="uq_suggestion_marks_viewer_profile_id_suggested_profile_id",
        ),
        CheckConstraint("viewer_profile_id <> suggested_profile_id", name="not_to_self"),
        CheckConstraint("verdict IN ('fits', 'no_fit')", name="verdict_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    viewer_profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    suggested_profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    verdict: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )

    def __repr__(self) -> str:
        return (
            f"<SuggestionMark {self.viewer_profile_id}->{self.suggested_profile_id} {self.verdict}>"
        )


class ReRankerArtefact(db.Model):
    """One fitted re-ranker (its coefficients as JSON); the newest row is the one in use."""

    __tablename__ = "reranker_artefacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # ReRanker.to_dict(): plain numbers, loaded without pickle
    model: Mapped[dict] = mapped_column(JSON, nullable=False)
    pairs: Mapped[int] = mapped_column(Integer, nullable=False)
    positives: Mapped[int] = mapped_column(Integer, nullable=False)
    # the "profiles" data version the features were computed on
    profiles_version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )

    def __repr__(self) -> str:
        return f"<ReRankerArtefact {self.id} pairs={self.pairs} positives={self.positives}>"


class ModelArtefact(db.Model):
    """A matching engine fitted by a job on one version of the profiles (a pickled blob).

    Web workers load the newest artefact and never fit; the refit job adds a new one when the
    ``profiles`` data version moved, and prunes old ones.
    """

    __tablename__ = "model_artefacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # the ``profiles`` data version read before the profiles were loaded for the fit
    data_version: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    profile_count: Mapped[int] = mapped_column(Integer, nullable=False)
    fit_seconds: Mapped[float] = mapped_column(Float, nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    # zlib-compressed pickle of the engine with the profile ids and input fingerprints
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )

    def __repr__(self) -> str:
        return f"<ModelArtefact {self.id} v{self.data_version} {self.profile_count} profiles>"


class OverviewRanking(db.Model):
    """Every SME's best startups by one artefact's engine, for the organisers' overview.

    Written by the fit with its artefact (``matching/ranking.py``), so a page of the overview
    never ranks; deleted with the artefact.
    """

    __tablename__ = "overview_rankings"

    artefact_id: Mapped[int] = mapped_column(
        ForeignKey("model_artefacts.id", ondelete="CASCADE"), primary_key=True
    )
    pair_count: Mapped[int] = mapped_column(Integer, nullable=False)
    # zlib-compressed pickle of the pairs' arrays and the fitted profiles' ``updated_at``
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )

    def __repr__(self) -> str:
        return f"<OverviewRanking of artefact {self.artefact_id}: {self.pair_count} pairs>"
