"""Directory read models: the directory's search with relevance, filters and sorts, lookups."""

import functools
import operator
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.sql.util import ClauseAdapter

from matchmaker.accounts.models import User
from matchmaker.directory.models import (
    Category,
    Profile,
    ProfileWord,
    SearchWord,
    Sector,
    Solution,
    profile_categories,
    solution_categories,
)
from matchmaker.directory.search import (
    CONCEPT_MARK,
    QueryGroup,
    is_substring_term,
    query_groups,
)
from matchmaker.extensions import db

SORTS = {
    "name": (Profile.name.asc(), Profile.id.asc()),
    "newest": (Profile.created_at.desc(), Profile.id.desc()),
    "city": (Profile.city.asc(), Profile.name.asc(), Profile.id.asc()),
    "size": (Profile.employees.desc().nulls_last(), Profile.name.asc(), Profile.id.asc()),
}


# The columns the sorts use: the directory's set of matches carries only these.
_SORT_KEYS = (Profile.id, Profile.name, Profile.created_at, Profile.city, Profile.employees)


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
    """Build the SELECT for the directory from a validated query, best matches first.

    ``word_ids``, if given, maps a search term to the ids of the indexed words it matches
    (from a worker's copy of the vocabulary), or to None to match the term in SQL.
    """
    stmt, ranking = _filtered(query, word_ids)
    return stmt.order_by(*(column.desc() for column in ranking), *SORTS[query.sort])


def _filtered(query: DirectoryQuery, word_ids) -> tuple[Select, list]:
    """Return the SELECT of the matching profiles (unordered) and its relevance columns."""
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
    groups = query_groups(query.q)
    if not groups:
        return stmt, []
    # With filters, only the postings of the profiles they keep are scored.
    filtered = query.kind or query.sector or query.category or query.region
    # SQLite scores only the postings of the profiles the filters keep (found by word id,
    # then tested against that list); PostgreSQL aggregates the postings by hash and joins
    # the filtered profiles once, cheaper than testing every posting's profile by index.
    within = stmt.with_only_columns(Profile.id) if filtered and not _postgresql() else None
    hits = _hits(groups, word_ids, within)
    if hits is None:
        return stmt.where(false()), []
    stmt = stmt.join(hits, hits.c.profile_id == Profile.id)
    return stmt, [hits.c.field_score, hits.c.match_score]


def _hits(groups: tuple[QueryGroup, ...], word_ids, within: Select | None):
    """Return the profiles every group matches, with their relevance, as a subquery.

    One pass over the postings of every term, grouped by profile. A group matches a profile
    that has one of its concepts or all of its words; ``field_score`` adds up, per group, the
    best field weight it was found in (name or title before the rest), ``match_score`` counts
    the ways each group matched (its concept, all its words: the query's own words and a
    thesaurus phrase found as written rank first). None when some group can match nothing.
    ``within``, if given, selects the ids of the profiles the filters keep.
    """
    terms = list(dict.fromkeys(t for group in groups for t in (*group.words, *group.concepts)))
    found = {term: word_ids(term) if word_ids is not None else None for term in terms}
    if all(ids is not None for ids in found.values()):
        # Every term's words are known: the postings by literal word ids.
        literal = sorted({i for ids in found.values() for i in ids})
        if not literal:
            return None
        postings, where = ProfileWord.__table__, _word_id_in(literal)
        matches = {term: _word_id_in(ids) if ids else None for term, ids in found.items()}
    else:
        postings, where, matches = _matched_postings(found)

    def seen(clause) -> ColumnElement:
        return func.max(case((clause, 1), else_=0))

    field_scores, match_scores, conditions = [], [], []
    for group in groups:
        words = [matches[term] for term in group.words]
        concepts = [matches[c] for c in group.concepts if matches[c] is not None]
        all_words = bool(words) and all(w is not None for w in words)
        if not concepts and not all_words:
            return None
        matched = []
        if concepts:
            matched.append(seen(or_(*concepts)))
        if all_words:
            matched.append(functools.reduce(operator.mul, map(seen, words)))
        score = functools.reduce(operator.add, matched)
        found_in = or_(*concepts, *(w for w in words if w is not None))
        field_scores.append(func.max(case((found_in, ProfileWord.weight), else_=0)))
        match_scores.append(score)
        conditions.append(score > 0)
    return (
        select(
            ProfileWord.profile_id,
            functools.reduce(operator.add, field_scores).label("field_score"),
            functools.reduce(operator.add, match_scores).label("match_score"),
        )
        .select_from(postings)
        .where(where)
        # "+ 0": SQLite must follow the postings by word id, never look up every filtered
        # profile's postings by profile id (many times slower for a broad filter).
        .where((ProfileWord.profile_id + 0).in_(within) if within is not None else true())
        .group_by(ProfileWord.profile_id)
        .having(and_(*conditions))
        .subquery("hits")
    )


def _matched_postings(found: dict[str, tuple[int, ...] | None]):
    """Return the postings joined to the words the terms match, and each term's flag column.

    For terms matched in SQL (``found`` maps them to None; the others to their word ids):
    each term is tested once per word of the small vocabulary, in one pass, and the
    postings are followed from the matched words by word id (indexed). Testing each term as
    ``word_id IN (SELECT ...)`` on every posting instead, OR-ed over the terms, makes
    PostgreSQL scan every posting of the index (~750,000 at 12,000 profiles).
    """
    flags = []
    for term, ids in found.items():
        if ids is not None:
            flag = _word_id_in(ids, SearchWord.id) if ids else false()
        elif is_substring_term(term):
            flag = and_(
                SearchWord.word.contains(term, autoescape=True),
                SearchWord.word.not_like(CONCEPT_MARK + "%"),
            )
        else:
            flag = SearchWord.word == term
        flags.append(flag)
    columns = [flag.label(f"term_{i}") for i, flag in enumerate(flags)]
    words = select(SearchWord.id, *columns).where(or_(*flags))
    if _postgresql():
        # Materialised, the terms are tested once per word, not once per posting.
        words = words.cte("matched_words").prefix_with("MATERIALIZED")
        where = true()
    else:
        # SQLite would materialise a CTE and read every posting to look its word up; the
        # words inlined, and once more as "word_id IN (...)", it starts from the words.
        words = words.subquery("matched_words")
        where = ProfileWord.word_id.in_(select(SearchWord.id).where(or_(*flags)))
    postings = ProfileWord.__table__.join(words, words.c.id == ProfileWord.word_id)
    return postings, where, {term: words.c[f"term_{i}"] for i, term in enumerate(found)}


def _postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _word_id_in(ids, column=ProfileWord.word_id) -> ColumnElement:
    """Return "the posting's word is one of ids", the ids written into the SQL.

    A broad term matches up to ``MAX_LITERAL_WORDS`` words and a query repeats its ids for
    each score; as bound parameters they could pass SQLite's limit on parameters.
    """
    return column.in_(bindparam(None, list(ids), expanding=True, literal_execute=True))


def directory_ids(
    query: DirectoryQuery, page: int, per_page: int, word_ids=None
) -> tuple[list[int], int]:
    """Return the ids of one page of matches, best first, and the number of matches.

    The filters (search postings, category, region ...) are evaluated once, into a
    materialised set of matches that carries only the id, the relevance and the sort keys;
    the page's ids (sorted, limited) and the number of matches are read from that set in one
    query. The usual ``paginate`` evaluates the filters twice (count, then rows) and carries
    every column of every match through the sort. Keeping ORDER BY and LIMIT outside the set
    also stops PostgreSQL from walking the name index and testing the filters profile by
    profile, a plan it otherwise picks for broad searches.
    """
    select_all, ranking = _filtered(query, word_ids)
    matches = (
        select_all.with_only_columns(*_SORT_KEYS, *ranking, maintain_column_froms=True)
        .cte("matches")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    order = [matches.c[column.name].desc() for column in ranking]
    order += [ClauseAdapter(matches).traverse(column) for column in SORTS[query.sort]]
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
    counted = select_all.with_only_columns(func.count(), maintain_column_froms=True)
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
