"""Export profiles as JSON (the import format) and CSV."""

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker.core.safe_csv import csv_rows
from matchmaker.directory.importing import CSV_COLUMNS
from matchmaker.directory.models import Profile, Solution
from matchmaker.extensions import db


def _profiles() -> list[Profile]:
    return list(
        db.session.scalars(
            select(Profile)
            .where(Profile.deleted_at.is_(None))
            .options(
                selectinload(Profile.categories),
                selectinload(Profile.solutions).selectinload(Solution.categories),
            )
            .order_by(Profile.kind, Profile.id)
        )
    )


def profile_record(profile: Profile) -> dict:
    """Return one profile in the import format (unknown keys are ignored on import)."""
    record = {
        "id": profile.ref,
        "name": profile.name,
        "sector": profile.sector_detail or (profile.sector.code if profile.sector else ""),
        "sector_code": profile.sector.code if profile.sector else "",
        "city": profile.city,
        "region": profile.region,
        "employees": profile.employees,
        "language": profile.language,
        "website": profile.website,
        "contact_name": profile.contact_name,
        "contact_role": profile.contact_role,
        "contact_email": profile.contact_email,
        "contact_phone": profile.contact_phone,
        "categories": [c.code for c in profile.categories],
        "tags": list(profile.tags or []),
    }
    if profile.kind == "sme":
        record["needs"] = profile.description
    else:
        record["offering"] = profile.description
        record["solutions"] = [
            {
                "title": s.title,
                "description": s.description,
                "categories": [c.code for c in s.categories],
                "maturity": s.maturity,
                "references": s.references,
                "pricing": s.pricing,
            }
            for s in profile.solutions
        ]
    return record


def profiles_document() -> dict:
    """Return every profile as ``{"smes": [...], "startups": [...]}``."""
    document: dict[str, list[dict]] = {"smes": [], "startups": []}
    for profile in _profiles():
        document["smes" if profile.kind == "sme" else "startups"].append(profile_record(profile))
    return document


def profiles_csv() -> Iterator[str]:
    """Yield every profile as CSV text with a header row (lists joined by ';').

    The profiles are read when the rows are first asked for: a streamed download is read by
    the server after the view returned and after the request's own commits (the audit entry of
    the download), which would leave profiles read in the view expired and detached.
    """
    columns = [*CSV_COLUMNS, "solutions"]

    def rows() -> Iterator[list]:
        for profile in _profiles():
            yield _csv_row(profile, columns)

    return csv_rows(columns, rows())


def _csv_row(profile: Profile, columns: list[str]) -> list:
    record = profile_record(profile)
    record["kind"] = profile.kind
    record["categories"] = ";".join(record["categories"])
    record["tags"] = ";".join(record["tags"])
    record["solutions"] = " | ".join(s["title"] for s in record.get("solutions", []))
    record["employees"] = "" if record["employees"] is None else record["employees"]
    return [record.get(k, "") for k in columns]
