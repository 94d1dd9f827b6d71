"""The directory: taxonomy, SME and startup profiles, solutions, search index."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.accounts.models import User
from matchmaker.core.clock import utcnow
from matchmaker.extensions import db

KINDS = ("sme", "startup")
CONTACT_VISIBILITIES = ("public", "members", "organisers")
LANGUAGES = ("de", "en", "mixed")
MATURITIES = ("idea", "pilot", "product")


class Sector(db.Model):
    """An industry sector; labels in German and English, keywords to classify free text."""

    __tablename__ = "sectors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    label_de: Mapped[str] = mapped_column(String(120), nullable=False)
    label_en: Mapped[str] = mapped_column(String(120), nullable=False)
    keywords: Mapped[str] = mapped_column(Text, nullable=False, default="")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    def label(self, locale: str) -> str:
        """Return the label in the given language."""
        return self.label_en if locale == "en" else self.label_de

    def __repr__(self) -> str:
        return f"<Sector {self.code}>"


class Category(db.Model):
    """An AI use-case category such as bookkeeping or IT security."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    label_de: Mapped[str] = mapped_column(String(120), nullable=False)
    label_en: Mapped[str] = mapped_column(String(120), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    def label(self, locale: str) -> str:
        """Return the label in the given language."""
        return self.label_en if locale == "en" else self.label_de

    def __repr__(self) -> str:
        return f"<Category {self.code}>"


profile_categories = Table(
    "profile_categories",
    db.metadata,
    Column("profile_id", ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
)

solution_categories = Table(
    "solution_categories",
    db.metadata,
    Column("solution_id", ForeignKey("solutions.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
)


class Profile(db.Model):
    """An SME needs profile or a startup profile, one table for both kinds."""

    __tablename__ = "profiles"
    # The directory's region filter list: DISTINCT region of the profiles not deleted,
    # answered from the index alone.
    __table_args__ = (Index("ix_profiles_region_deleted_at", "region", "deleted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    external_ref: Mapped[str | None] = mapped_column(String(80), unique=True, nullable=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    sector_id: Mapped[int | None] = mapped_column(
        ForeignKey("sectors.id", ondelete="SET NULL"), nullable=True, index=True
    )
    sector_detail: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    city: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    region: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    employees: Mapped[int | None] = mapped_column(Integer, nullable=True)
    website: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    contact_name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    contact_role: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="de")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # Who may see the contact person, e-mail and phone: everyone, logged-in members, or
    # organisers only (the owner always sees them).
    contact_visibility: Mapped[str] = mapped_column(
        String(12), nullable=False, default="members", server_default="members"
    )
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Set when the owner deleted the profile but schedules still refer to it: the row stays
    # as an anonymised placeholder and is hidden everywhere else.
    deleted_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )

    sector: Mapped[Sector | None] = relationship(lazy="joined")
    owner: Mapped[User | None] = relationship()
    categories: Mapped[list[Category]] = relationship(
        secondary=profile_categories, order_by=Category.position
    )
    solutions: Mapped[list["Solution"]] = relationship(
        back_populates="profile",
        cascade="all, delete-orphan",
        order_by="Solution.position, Solution.id",
    )

    @property
    def ref(self) -> str:
        """Return the external reference, or the id when the profile was made in the app."""
        return self.external_ref or str(self.id)

    def contact_visible_to(self, user) -> bool:
        """Tell whether ``user`` (or an anonymous visitor) may see the contact details."""
        if self.contact_visibility == "public":
            return True
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        if user.is_organiser or self.owner_id == user.id:
            return True
        return self.contact_visibility == "members"

    @property
    def is_sme(self) -> bool:
        """Tell whether this is an SME needs profile."""
        return self.kind == "sme"

    def __repr__(self) -> str:
        return f"<Profile {self.id} {self.kind} {self.name!r}>"


class Solution(db.Model):
    """One solution a startup offers."""

    __tablename__ = "solutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    maturity: Mapped[str] = mapped_column(String(10), nullable=False, default="product")
    references: Mapped[str] = mapped_column(Text, nullable=False, default="")
    pricing: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    profile: Mapped[Profile] = relationship(back_populates="solutions")
    categories: Mapped[list[Category]] = relationship(
        secondary=solution_categories, order_by=Category.position
    )

    def __repr__(self) -> str:
        return f"<Solution {self.id} {self.title!r}>"


class SearchWord(db.Model):
    """A distinct normalised word of the directory's texts (searchable by substring) or a
    thesaurus concept (``#`` and its id, matched whole)."""

    __tablename__ = "search_words"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    word: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)

    def __repr__(self) -> str:
        return f"<SearchWord {self.word}>"


class ProfileWord(db.Model):
    """Posting: a profile contains a search word (or names a concept), with the field's weight."""

    __tablename__ = "profile_words"

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True
    )
    word_id: Mapped[int] = mapped_column(
        ForeignKey("search_words.id", ondelete="CASCADE"), primary_key=True
    )
    # 2: in the profile's name or a solution's title, 1: elsewhere (directory/search.py)
    weight: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="1")

    # word -> profiles and weights without visiting the table (covering index for search)
    __table_args__ = (
        Index("ix_profile_words_word_id_profile_id_weight", "word_id", "profile_id", "weight"),
    )

    def __repr__(self) -> str:
        return f"<ProfileWord {self.profile_id}:{self.word_id}>"


class DataVersion(db.Model):
    """A counter per data set, bumped on every change, so each worker sees staleness cheaply."""

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    def __repr__(self) -> str:
        return f"<DataVersion {self.name}={self.version}>"


class StagedImport(db.Model):
    """An uploaded import file kept between its preview and the organiser's confirmation.

    Kept in the database rather than in a worker's memory, so the confirmation may reach
    any worker; it expires after an hour and is removed when the import runs.
    """

    __tablename__ = "staged_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # None: staged by the command line (a large import runs as a job from here)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow
    )
    expires_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, index=True
    )

    def __repr__(self) -> str:
        return f"<StagedImport {self.id} {self.filename!r}>"
