"""Write the validated rows of an import in bulk: a few statements per chunk of rows.

The importer (``importing.py``) validates every row first; this module writes them with
executemany inserts and updates instead of an ORM object, a flush and three lookups per row,
so a file of 5,000 profiles is written in seconds. What it writes is what the profile forms'
use cases (``services.py``) write for one profile: the profile, its use cases, its solutions
(replaced when the row has them) and its search postings; the ``profiles`` data version goes up
once for the whole file.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

from matchmaker.core.bulk import insert_rows
from matchmaker.core.clock import utcnow
from matchmaker.directory import indexing
from matchmaker.directory.models import (
    Category,
    Profile,
    Sector,
    Solution,
    profile_categories,
    solution_categories,
)
from matchmaker.directory.services import PROFILE_FIELDS, SOLUTION_FIELDS
from matchmaker.extensions import db

_PROFILES = Profile.__table__
_SOLUTIONS = Solution.__table__


@dataclass
class Taxonomy:
    """The sectors and use cases, read once for a whole file."""

    sectors: list[Sector] = field(default_factory=list)
    categories: dict[str, Category] = field(default_factory=dict)

    @classmethod
    def load(cls) -> "Taxonomy":
        """Read every sector and use case."""
        sectors = list(db.session.scalars(select(Sector).order_by(Sector.position, Sector.code)))
        categories = db.session.scalars(select(Category).order_by(Category.position))
        return cls(sectors, {c.code: c for c in categories})

    def sector(self, code: str | None) -> Sector | None:
        """Return the sector with the code, or None."""
        return next((s for s in self.sectors if code and s.code == code), None)

    def categories_of(self, codes: Iterable[str]) -> list[Category]:
        """Return the known categories among the codes, once each, in display order."""
        found = {self.categories[c].id: self.categories[c] for c in codes if c in self.categories}
        return sorted(found.values(), key=lambda c: (c.position, c.id))


def existing_ids(refs: list[str], chunk: int = 500) -> dict[str, int]:
    """Return the ids of the profiles with these external references."""
    found: dict[str, int] = {}
    for start in range(0, len(refs), chunk):
        query = select(Profile.external_ref, Profile.id).where(
            Profile.external_ref.in_(refs[start : start + chunk])
        )
        found.update(db.session.execute(query).tuples().all())
    return found


def write_rows(rows: list[dict], existing: dict[str, int], taxonomy: Taxonomy) -> None:
    """Create or update the profiles of validated rows and re-index them (no commit).

    ``existing`` maps the references of the profiles to update to their ids.
    """
    now = utcnow()
    creates = [row for row in rows if row["ref"] not in existing]
    updates = [row for row in rows if row["ref"] in existing]
    ids: dict[str, int] = dict(existing)
    if creates:
        statement = _PROFILES.insert().returning(
            _PROFILES.c.id, _PROFILES.c.external_ref, sort_by_parameter_order=True
        )
        values = [
            {**_profile_values(row), "kind": row["kind"], "external_ref": row["ref"]}
            | {"contact_visibility": "members", "created_at": now, "updated_at": now}
            for row in creates
        ]
        ids.update((ref, pid) for pid, ref in db.session.execute(statement, values))
    if updates:
        values = [
            {"id": existing[row["ref"]], **_profile_values(row), "updated_at": now}
            for row in updates
        ]
        # ORM bulk update by primary key: one executemany, no objects
        db.session.execute(update(Profile), values)
    touched = [ids[row["ref"]] for row in updates]
    if touched:
        db.session.execute(
            delete(profile_categories).where(profile_categories.c.profile_id.in_(touched))
        )
    categories = {ids[row["ref"]]: taxonomy.categories_of(row["categories"]) for row in rows}
    links = [
        {"profile_id": pid, "category_id": c.id} for pid, cats in categories.items() for c in cats
    ]
    if links:
        insert_rows(db.session, profile_categories, links)
    solutions = _write_solutions(rows, ids, taxonomy)
    texts = {
        ids[row["ref"]]: indexing.searchable_texts(
            _shape(row, categories[ids[row["ref"]]], solutions[ids[row["ref"]]])
        )
        for row in rows
    }
    indexing.profiles_changed(texts)


def _profile_values(row: dict) -> dict:
    """Return the profile columns a validated row sets (as ``apply_profile_data`` sets them)."""
    values = {}
    for name in PROFILE_FIELDS:
        if name in row:
            value = row[name]
            values[name] = "" if value is None and name not in ("employees", "tags") else value
    sector = row.get("sector")
    values["sector_id"] = sector.id if sector is not None else None
    return values


def _write_solutions(
    rows: list[dict], ids: dict[str, int], taxonomy: Taxonomy
) -> dict[int, list[SimpleNamespace]]:
    """Replace the solutions of the rows that bring them; return every row's solutions."""
    replaced = [row for row in rows if row.get("solutions") is not None]
    kept = [ids[row["ref"]] for row in rows if row.get("solutions") is None]
    found: dict[int, list[SimpleNamespace]] = {ids[row["ref"]]: [] for row in rows}
    for solution in _stored_solutions(kept):
        found[solution.profile_id].append(
            SimpleNamespace(
                title=solution.title,
                description=solution.description,
                references=solution.references,
                categories=list(solution.categories),
            )
        )
    if not replaced:
        return found
    owners = [ids[row["ref"]] for row in replaced]
    old = select(_SOLUTIONS.c.id).where(_SOLUTIONS.c.profile_id.in_(owners))
    db.session.execute(
        delete(solution_categories).where(solution_categories.c.solution_id.in_(old))
    )
    db.session.execute(delete(_SOLUTIONS).where(_SOLUTIONS.c.profile_id.in_(owners)))
    values, shapes = [], []
    for row in replaced:
        for position, solution in enumerate(row["solutions"]):
            values.append(
                {name: solution.get(name) or "" for name in SOLUTION_FIELDS}
                | {"profile_id": ids[row["ref"]], "position": position}
            )
            shape = SimpleNamespace(**{n: values[-1][n] for n in SOLUTION_FIELDS})
            shape.categories = taxonomy.categories_of(solution.get("categories") or [])
            found[ids[row["ref"]]].append(shape)
            shapes.append(shape)
    if not values:
        return found
    statement = _SOLUTIONS.insert().returning(_SOLUTIONS.c.id, sort_by_parameter_order=True)
    new_ids = db.session.scalars(statement, values).all()
    links = [
        {"solution_id": sid, "category_id": c.id}
        for sid, shape in zip(new_ids, shapes, strict=True)
        for c in shape.categories
    ]
    if links:
        insert_rows(db.session, solution_categories, links)
    return found


def _stored_solutions(profile_ids: list[int], chunk: int = 500) -> list[Solution]:
    """Return the stored solutions of profiles whose row leaves them as they are."""
    found: list[Solution] = []
    for start in range(0, len(profile_ids), chunk):
        found += db.session.scalars(
            select(Solution)
            .where(Solution.profile_id.in_(profile_ids[start : start + chunk]))
            .options(selectinload(Solution.categories))
            .order_by(Solution.profile_id, Solution.position, Solution.id)
        )
    return found


def _shape(row: dict, categories: list[Category], solutions: list) -> SimpleNamespace:
    """Return what ``indexing.searchable_texts`` reads of a profile, from a validated row."""
    return SimpleNamespace(
        name=row["name"],
        sector_detail=row.get("sector_detail") or "",
        city=row.get("city") or "",
        region=row.get("region") or "",
        description=row.get("description") or "",
        tags=row.get("tags") or [],
        sector=row.get("sector"),
        categories=categories,
        solutions=solutions,
    )
