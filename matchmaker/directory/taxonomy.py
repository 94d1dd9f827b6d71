"""Read the taxonomy tables (sectors, use-case categories) in the user's language."""

from sqlalchemy import select
from wtforms import SelectChoice

from matchmaker.core.i18n import current_language
from matchmaker.directory.models import Category, Sector
from matchmaker.extensions import db


def all_sectors() -> list[Sector]:
    """Return every sector in display order."""
    return list(db.session.scalars(select(Sector).order_by(Sector.position, Sector.code)))


def all_categories() -> list[Category]:
    """Return every use-case category in display order."""
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.code)))


def sector_choices() -> list[SelectChoice]:
    """Return the sectors as choices for a select field."""
    lang = current_language()
    return [SelectChoice(s.code, s.label(lang)) for s in all_sectors()]


def category_choices() -> list[SelectChoice]:
    """Return the use-case categories as choices for a checkbox list."""
    lang = current_language()
    return [SelectChoice(c.code, c.label(lang)) for c in all_categories()]


def categories_by_code(codes) -> list[Category]:
    """Return the categories with the given codes, in display order."""
    codes = list(codes or ())
    if not codes:
        return []
    return list(
        db.session.scalars(
            select(Category).where(Category.code.in_(codes)).order_by(Category.position)
        )
    )


def sector_by_code(code: str | None) -> Sector | None:
    """Return the sector with the code, or None."""
    if not code:
        return None
    return db.session.scalar(select(Sector).where(Sector.code == code))


def classify_sector(text: str, sectors: list[Sector] | None = None) -> Sector | None:
    """Guess the sector of a free-text description from the sectors' keywords.

    ``sectors``: every sector in display order, when the caller has read them already.
    """
    folded = (text or "").lower()
    if not folded:
        return None
    best, best_hits = None, 0
    for sector in all_sectors() if sectors is None else sectors:
        if folded in (sector.code, sector.label_de.lower(), sector.label_en.lower()):
            return sector
        hits = sum(1 for kw in sector.keywords.split(",") if kw.strip() and kw.strip() in folded)
        if hits > best_hits:
            best, best_hits = sector, hits
    return best
