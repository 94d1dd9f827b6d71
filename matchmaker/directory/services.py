"""Directory use cases: change profiles and solutions, keep the search index and version."""

from dataclasses import dataclass

from sqlalchemy import and_, delete, func, or_, select, update

from matchmaker.accounts.models import User
from matchmaker.directory import taxonomy
from matchmaker.directory.models import (
    Category,
    DataVersion,
    Profile,
    ProfileWord,
    SearchWord,
    Sector,
    Solution,
    profile_categories,
    solution_categories,
)
from matchmaker.directory.search import index_words, is_substring_term, query_terms
from matchmaker.extensions import db

PROFILE_FIELDS = (
    "name",
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
PROFILES_VERSION = "profiles"
SORTS = {
    "name": (Profile.name.asc(), Profile.id.asc()),
    "newest": (Profile.created_at.desc(), Profile.id.desc()),
    "city": (Profile.city.asc(), Profile.name.asc(), Profile.id.asc()),
    "size": (Profile.employees.desc().nulls_last(), Profile.name.asc(), Profile.id.asc()),
}


def bump_version(name: str = PROFILES_VERSION) -> None:
    """Mark a data set as changed, so every worker rebuilds what it derived from it."""
    updated = db.session.execute(
        update(DataVersion).where(DataVersion.name == name).values(version=DataVersion.version + 1)
    )
    if updated.rowcount == 0:
        db.session.add(DataVersion(name=name, version=1))
        db.session.flush()


def current_version(name: str = PROFILES_VERSION) -> int:
    """Return the version counter of a data set (0 when it never changed)."""
    return db.session.scalar(select(DataVersion.version).where(DataVersion.name == name)) or 0


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


def create_profile(kind: str, data: dict, owner: User | None) -> Profile:
    """Create a profile owned by ``owner`` and index it for search."""
    profile = Profile(kind=kind, owner=owner, tags=[])
    apply_profile_data(profile, data)
    db.session.add(profile)
    db.session.flush()
    reindex_profile(profile)
    bump_version()
    return profile


def update_profile(profile: Profile, data: dict) -> Profile:
    """Change a profile and re-index it."""
    apply_profile_data(profile, data)
    db.session.flush()
    reindex_profile(profile)
    bump_version()
    return profile


def delete_profile(profile: Profile) -> None:
    """Delete a profile with its solutions and index entries."""
    db.session.execute(delete(ProfileWord).where(ProfileWord.profile_id == profile.id))
    db.session.delete(profile)
    db.session.flush()
    bump_version()


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
    db.session.flush()
    reindex_profile(profile)
    bump_version()
    return solution


def delete_solution(solution: Solution) -> None:
    """Remove a solution from its profile."""
    profile = solution.profile
    profile.solutions.remove(solution)
    db.session.flush()
    reindex_profile(profile)
    bump_version()


def searchable_texts(profile: Profile) -> list[str]:
    """Return the texts of a profile that directory search looks at."""
    texts = [
        profile.name,
        profile.sector_detail,
        profile.city,
        profile.region,
        profile.description,
        " ".join(profile.tags or []),
    ]
    if profile.sector is not None:
        texts += [profile.sector.label_de, profile.sector.label_en]
    for solution in profile.solutions:
        texts += [solution.title, solution.description, solution.references]
    return texts


def reindex_profile(profile: Profile) -> None:
    """Rebuild the search postings of one profile."""
    words = index_words(*searchable_texts(profile))
    known = (
        dict(
            db.session.execute(
                select(SearchWord.word, SearchWord.id).where(SearchWord.word.in_(words))
            ).all()
        )
        if words
        else {}
    )
    missing = sorted(words - known.keys())
    if missing:
        db.session.execute(SearchWord.__table__.insert(), [{"word": w} for w in missing])
        known.update(
            db.session.execute(
                select(SearchWord.word, SearchWord.id).where(SearchWord.word.in_(missing))
            ).all()
        )
    db.session.execute(delete(ProfileWord).where(ProfileWord.profile_id == profile.id))
    if known:
        db.session.execute(
            ProfileWord.__table__.insert(),
            [{"profile_id": profile.id, "word_id": wid} for wid in known.values()],
        )


@dataclass(frozen=True)
class DirectoryQuery:
    """What the directory is asked to show: search text, filters, order."""

    q: str = ""
    kind: str = ""
    sector: str = ""
    category: str = ""
    region: str = ""
    sort: str = "name"


def directory_select(query: DirectoryQuery):
    """Build the SELECT for the directory from a validated query."""
    stmt = select(Profile)
    if query.kind:
        stmt = stmt.where(Profile.kind == query.kind)
    if query.sector:
        stmt = stmt.where(Profile.sector.has(Sector.code == query.sector))
    if query.category:
        in_profile = (
            select(profile_categories.c.profile_id)
            .join(Category)
            .where(Category.code == query.category)
        )
        in_solution = (
            select(Solution.profile_id)
            .join(solution_categories, solution_categories.c.solution_id == Solution.id)
            .join(Category, Category.id == solution_categories.c.category_id)
            .where(Category.code == query.category)
        )
        stmt = stmt.where(or_(Profile.id.in_(in_profile), Profile.id.in_(in_solution)))
    if query.region:
        stmt = stmt.where(or_(Profile.region == query.region, Profile.city == query.region))
    for term in query_terms(query.q):
        if is_substring_term(term):
            word_match = SearchWord.word.contains(term, autoescape=True)
        else:
            word_match = SearchWord.word == term
        postings = (
            select(ProfileWord.profile_id)
            .join(SearchWord, SearchWord.id == ProfileWord.word_id)
            .where(word_match)
        )
        stmt = stmt.where(Profile.id.in_(postings))
    return stmt.order_by(*SORTS[query.sort])


def regions() -> list[str]:
    """Return the regions and towns that occur in the directory, for the filter."""
    rows = db.session.execute(
        select(Profile.region).where(Profile.region != "").distinct().order_by(Profile.region)
    ).scalars()
    return list(rows)


def count_profiles_by_kind() -> dict[str, int]:
    """Return how many SME and startup profiles exist."""
    return dict(db.session.execute(select(Profile.kind, func.count()).group_by(Profile.kind)).all())


def profiles_of(user: User) -> list[Profile]:
    """Return the profiles a member owns."""
    return list(
        db.session.scalars(
            select(Profile).where(Profile.owner_id == user.id).order_by(Profile.name)
        )
    )


def find_by_ref(ref: str) -> Profile | None:
    """Return the profile with the external reference."""
    return db.session.scalar(select(Profile).where(and_(Profile.external_ref == ref)))
