"""Directory use cases: create, change and delete profiles and their solutions.

Every use case re-indexes what it changed for search and bumps the ``profiles`` data version
(``directory.indexing``), so the search index and every worker's caches follow at once.
Services change models and flush; the caller commits.
"""

from matchmaker.accounts.models import User
from matchmaker.core.clock import utcnow
from matchmaker.directory import indexing, taxonomy
from matchmaker.directory.models import Profile, Sector, Solution
from matchmaker.extensions import db

PROFILE_FIELDS = (
    "name",
    "contact_visibility",
    "sector_detail",
    "city",
    "region",
    "employees",
    "website",
    "contact_name",
    "contact_role",
    "contact_email",
    "contact_phone",
    "language",
    "description",
    "tags",
)


SOLUTION_FIELDS = ("title", "description", "maturity", "references", "pricing")


def apply_profile_data(profile: Profile, data: dict) -> None:
    """Copy cleaned form or import data onto a profile (no commit)."""
    for field in PROFILE_FIELDS:
        if field in data:
            value = data[field]
            if field != "employees" and field != "tags" and value is None:
                value = ""
            setattr(profile, field, value)
    if "sector" in data:
        sector = data["sector"]
        profile.sector = (
            sector
            if isinstance(sector, Sector) or sector is None
            else (taxonomy.sector_by_code(sector))
        )
    if "categories" in data:
        profile.categories = taxonomy.categories_by_code(data["categories"])
    if "consent_at" in data:
        profile.consent_at = data["consent_at"]


def touch(profile: Profile) -> None:
    """Mark the profile as changed now, also when only its use cases or solutions changed.

    The matching overview tells a profile changed since the model's fit by its ``updated_at``,
    which an UPDATE of the profile's own row alone would not set.
    """
    profile.updated_at = utcnow()


def create_profile(kind: str, data: dict, owner: User | None) -> Profile:
    """Create a profile owned by ``owner`` and index it for search."""
    profile = Profile(kind=kind, owner=owner, tags=[])
    apply_profile_data(profile, data)
    db.session.add(profile)
    db.session.flush()
    indexing.profile_changed(profile)
    return profile


def update_profile(profile: Profile, data: dict) -> Profile:
    """Change a profile and re-index it."""
    apply_profile_data(profile, data)
    touch(profile)
    db.session.flush()
    indexing.profile_changed(profile)
    return profile


def delete_profile(profile: Profile) -> None:
    """Delete a profile with its solutions and index entries."""
    indexing.profile_removed(profile)
    db.session.delete(profile)
    db.session.flush()


def save_solution(profile: Profile, data: dict, solution: Solution | None = None) -> Solution:
    """Add a solution to a startup profile, or change an existing one."""
    if solution is None:
        solution = Solution(profile=profile, position=len(profile.solutions))
        db.session.add(solution)
    for field in SOLUTION_FIELDS:
        if field in data:
            setattr(solution, field, data[field] or "")
    if "categories" in data:
        solution.categories = taxonomy.categories_by_code(data["categories"])
    touch(profile)
    db.session.flush()
    indexing.profile_changed(profile)
    return solution


def delete_solution(solution: Solution) -> None:
    """Remove a solution from its profile."""
    profile = solution.profile
    profile.solutions.remove(solution)
    touch(profile)
    db.session.flush()
    indexing.profile_changed(profile)
