"""Directory use cases: change profiles and solutions, keep the search index and version."""

from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, delete, event, false, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import ClauseAdapter, find_tables

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
PROFILES_VERSION = "profiles"
# Sectors and categories change only through migrations. A migration that changes them must
# bump this version, so running workers reload their cached lists (directory/cache.py):
#   UPDATE data_versions SET version = version + 1 WHERE name = 'taxonomy';
#   INSERT INTO data_versions (name, version) SELECT 'taxonomy', 1
#     WHERE NOT EXISTS (SELECT 1 FROM data_versions WHERE name = 'taxonomy');
# on upgrade and on downgrade (the counter only grows). No migration adds the row up front:
# a restore (core/backup.py) needs data_versions empty in a new database.
TAXONOMY_VERSION = "taxonomy"
SORTS = {
    "name": (Profile.name.asc(), Profile.id.asc()),
    "newest": (Profile.created_at.desc(), Profile.id.desc()),
    "city": (Profile.city.asc(), Profile.name.asc(), Profile.id.asc()),
    "size": (Profile.employees.desc().nulls_last(), Profile.name.asc(), Profile.id.asc()),
}

# The columns the sorts use: the directory's set of matches carries only these.
_SORT_KEYS = (Profile.id, Profile.name, Profile.created_at, Profile.city, Profile.employees)


def bump_version(name: str = PROFILES_VERSION) -> None:
    """Mark a data set as changed, so every worker rebuilds what it derived from it.

    The increment is written together with the pending search-index writes (see
    ``reindex_profile``): before commit, or before the next statement of this
    session that reads or writes the version or the index.
    """
    bumps = db.session.info.setdefault(_PENDING_BUMPS, {})
    bumps[name] = bumps.get(name, 0) + 1


def _insert(session, table):
    """Return an INSERT for the session's database that knows ON CONFLICT."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)


def _write_bumps(session, bumps: dict[str, int]) -> None:
    # One upsert per counter: the first change of a data set may happen in two requests at once.
    for name, count in sorted(bumps.items()):
        statement = _insert(session, DataVersion.__table__).values(name=name, version=count)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["name"],
                set_={"version": DataVersion.__table__.c.version + statement.excluded.version},
            )
        )


def current_version(name: str = PROFILES_VERSION) -> int:
    """Return the version counter of a data set (0 when it never changed)."""
    return db.session.scalar(select(DataVersion.version).where(DataVersion.name == name)) or 0


def current_versions(*names: str) -> tuple[int, ...]:
    """Return the version counters of several data sets in one query (0 if never changed)."""
    rows = dict(
        db.session.execute(
            select(DataVersion.name, DataVersion.version).where(DataVersion.name.in_(names))
        )
        .tuples()
        .all()
    )
    return tuple(rows.get(name, 0) for name in names)


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
    """Rebuild the search postings of one profile.

    The words are taken now; the index rows are written in one batch for every
    profile changed in the transaction (an import of thousands of rows then costs
    a handful of statements instead of several per row): before commit, or before
    the next statement of this session that touches the index or the version.
    """
    pending = db.session.info.setdefault(_PENDING_INDEX, {})
    pending[profile.id] = index_words(*searchable_texts(profile))


_PENDING_INDEX = "directory.pending_index"  # session.info: profile id -> words
_PENDING_BUMPS = "directory.pending_bumps"  # session.info: data set name -> increments
PENDING_KEYS = (_PENDING_INDEX, _PENDING_BUMPS)
_CHUNK = 500
_DEFERRED_TABLES = frozenset(("search_words", "profile_words", "data_versions"))


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_pending(session) -> None:
    """Write the queued search-index postings and version increments of a session."""
    pending = session.info.pop(_PENDING_INDEX, None)
    bumps = session.info.pop(_PENDING_BUMPS, None)
    if pending:
        _write_index(session, pending)
    if bumps:
        _write_bumps(session, bumps)


def _write_index(session, pending: dict[int, set[str]]) -> None:
    ids = sorted(pending)
    # A profile may have been deleted since it was queued (ORM delete, cascade).
    existing: set[int] = set()
    for chunk in _chunks(ids):
        existing.update(session.scalars(select(Profile.id).where(Profile.id.in_(chunk))))
    ids = [pid for pid in ids if pid in existing]
    words = sorted(set().union(*(pending[pid] for pid in ids))) if ids else []
    known: dict[str, int] = {}
    for chunk in _chunks(words):
        known.update(
            session.execute(
                select(SearchWord.word, SearchWord.id).where(SearchWord.word.in_(chunk))
            )
            .tuples()
            .all()
        )
    missing = [w for w in words if w not in known]
    if missing:
        # Profiles saved at the same moment may bring the same new word: the loser of that
        # race skips it instead of failing, then reads the winner's id. Sorted rows take the
        # row locks in one order, so two such inserts wait for each other but never deadlock.
        for chunk in _chunks(missing):
            session.execute(
                _insert(session, SearchWord.__table__).on_conflict_do_nothing(
                    index_elements=["word"]
                ),
                [{"word": w} for w in chunk],
            )
        for chunk in _chunks(missing):
            known.update(
                session.execute(
                    select(SearchWord.word, SearchWord.id).where(SearchWord.word.in_(chunk))
                )
                .tuples()
                .all()
            )
    for chunk in _chunks(ids):
        session.execute(delete(ProfileWord).where(ProfileWord.profile_id.in_(chunk)))
    postings = [{"profile_id": pid, "word_id": known[w]} for pid in ids for w in pending[pid]]
    for chunk in _chunks(postings, 5000):
        session.execute(ProfileWord.__table__.insert(), chunk)


@event.listens_for(Session, "before_commit")
def _write_before_commit(session) -> None:
    if session.info.get(_PENDING_INDEX) or session.info.get(_PENDING_BUMPS):
        write_pending(session)


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading(orm_execute_state) -> None:
    session = orm_execute_state.session
    if not (session.info.get(_PENDING_INDEX) or session.info.get(_PENDING_BUMPS)):
        return
    statement = orm_execute_state.statement
    tables = {t.name for t in find_tables(statement, check_columns=True, include_crud=True)}
    if tables & _DEFERRED_TABLES or not tables:
        write_pending(session)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session) -> None:
    session.info.pop(_PENDING_INDEX, None)
    session.info.pop(_PENDING_BUMPS, None)


@dataclass(frozen=True)
class DirectoryQuery:
    """What the directory is asked to show: search text, filters, order."""

    q: str = ""
    kind: str = ""
    sector: str = ""
    category: str = ""
    region: str = ""
    sort: str = "name"


def directory_select(query: DirectoryQuery, word_ids=None):
    """Build the SELECT for the directory from a validated query.

    ``word_ids``, if given, maps a search term to the ids of the indexed words it matches
    (from a worker's copy of the vocabulary), or to None to match the term in SQL.
    """
    stmt = select(Profile).where(Profile.deleted_at.is_(None))
    if query.kind:
        stmt = stmt.where(Profile.kind == query.kind)
    if query.sector:
        # sector_id = (scalar subquery) can use the index on profiles.sector_id;
        # an EXISTS per row (relationship.has) cannot.
        sector_id = select(Sector.id).where(Sector.code == query.sector).scalar_subquery()
        stmt = stmt.where(Profile.sector_id == sector_id)
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
        ids = word_ids(term) if word_ids is not None else None
        if ids is not None:
            if not ids:
                return stmt.where(false()).order_by(*SORTS[query.sort])
            words = ProfileWord.word_id.in_(ids)
        else:
            if is_substring_term(term):
                word_match = SearchWord.word.contains(term, autoescape=True)
            else:
                word_match = SearchWord.word == term
            # Match the term against the small vocabulary first, then follow the postings
            # by word id (indexed); a join would test the LIKE once per posting instead.
            words = ProfileWord.word_id.in_(select(SearchWord.id).where(word_match))
        stmt = stmt.where(Profile.id.in_(select(ProfileWord.profile_id).where(words)))
    return stmt.order_by(*SORTS[query.sort])


def directory_ids(
    query: DirectoryQuery, page: int, per_page: int, word_ids=None
) -> tuple[list[int], int]:
    """Return the ids of one page of matches, sorted, and the number of matches.

    The filters (search postings, category, region ...) are evaluated once, into a
    materialised set of matches that carries only the id and the sort keys; the page's ids
    (sorted, limited) and the number of matches are read from that set in one query. The
    usual ``paginate`` evaluates the filters twice (count, then rows) and carries every
    column of every match through the sort. Keeping ORDER BY and LIMIT outside the set also
    stops PostgreSQL from walking the name index and testing the filters profile by
    profile, a plan it otherwise picks for broad searches.
    """
    select_all = directory_select(query, word_ids)
    matches = (
        select_all.with_only_columns(*_SORT_KEYS, maintain_column_froms=True)
        .order_by(None)
        .cte("matches")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    order = [ClauseAdapter(matches).traverse(column) for column in SORTS[query.sort]]
    total = select(func.count()).select_from(matches).scalar_subquery()
    narrow = (
        select(matches.c.id, total).order_by(*order).limit(per_page).offset((page - 1) * per_page)
    )
    rows = db.session.execute(narrow).all()
    if rows:
        return [row[0] for row in rows], rows[0][1]
    if page == 1:
        return [], 0
    # Beyond the last page: count the matches on their own.
    counted = select_all.order_by(None).with_only_columns(func.count(), maintain_column_froms=True)
    return [], db.session.scalar(counted) or 0


@dataclass(frozen=True)
class DirectoryRow:
    """What the directory list shows of one profile (plain data, no ORM state)."""

    id: int
    kind: str
    name: str
    sector_id: int | None
    city: str
    region: str
    employees: int | None
    description: str  # the first EXCERPT_CHARS characters


EXCERPT_CHARS = 300  # enough for the list's excerpt (220 characters at a word boundary)


def directory_rows(ids: list[int]) -> list[DirectoryRow]:
    """Load the listed columns of the profiles with the ids, in the order of the ids."""
    if not ids:
        return []
    stmt = select(
        Profile.id,
        Profile.kind,
        Profile.name,
        Profile.sector_id,
        Profile.city,
        Profile.region,
        Profile.employees,
        func.substr(Profile.description, 1, EXCERPT_CHARS),
    ).where(Profile.id.in_(ids))
    by_id = {row[0]: DirectoryRow(*row) for row in db.session.execute(stmt)}
    return [by_id[pid] for pid in ids if pid in by_id]


class ResultPage(Pagination):
    """A page of directory results whose items and total are already known."""

    def __init__(self, items: list, total: int, page: int, per_page: int) -> None:
        self._items, self._total = items, total
        super().__init__(page=page, per_page=per_page, max_per_page=None, error_out=False)

    def _query_items(self) -> list:
        return self._items

    def _query_count(self) -> int:
        return self._total


def regions() -> list[str]:
    """Return the regions and towns that occur in the directory, for the filter."""
    rows = db.session.execute(
        select(Profile.region)
        .where(Profile.region != "", Profile.deleted_at.is_(None))
        .distinct()
        .order_by(Profile.region)
    ).scalars()
    return list(rows)


def count_profiles_by_kind() -> dict[str, int]:
    """Return how many SME and startup profiles exist."""
    return dict(
        db.session.execute(
            select(Profile.kind, func.count())
            .where(Profile.deleted_at.is_(None))
            .group_by(Profile.kind)
        ).all()
    )


def profiles_of(user: User) -> list[Profile]:
    """Return the profiles a member owns."""
    return list(
        db.session.scalars(
            select(Profile)
            .where(Profile.owner_id == user.id, Profile.deleted_at.is_(None))
            .order_by(Profile.name)
        )
    )


def find_by_ref(ref: str) -> Profile | None:
    """Return the profile with the external reference."""
    return db.session.scalar(select(Profile).where(and_(Profile.external_ref == ref)))
