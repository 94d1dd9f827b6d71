"""Feedback on suggestions ("passt" / "passt nicht") and the fitted re-rankers."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
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
