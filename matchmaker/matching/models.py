"""Matching tables: the fitted engine, stored once per data version for every worker and host."""

from datetime import datetime

from sqlalchemy import DateTime, Float, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.core.clock import utcnow
from matchmaker.extensions import db


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
