"""The search index and the data versions, written by the use cases that change profiles.

Every use case that changes a profile or its solutions calls :func:`profile_changed` (a
deleted profile: :func:`profile_removed`), which rewrites the profile's search postings and
bumps the ``profiles`` data version right away, in the use case's transaction; the data
version tells every worker's caches (``directory.cache``, ``matching.services``) to rebuild.
An import of thousands of rows wraps its writes in :func:`batch`: the postings and increments
are collected and written in a handful of statements when the batch ends, instead of several
per row.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, load_only, selectinload

from matchmaker.core.bulk import insert_rows
from matchmaker.directory.models import (
    Category,
    DataVersion,
    Profile,
    ProfileWord,
    SearchWord,
    Sector,
    Solution,
)
from matchmaker.directory.search import BODY, TITLE, index_terms
from matchmaker.extensions import db

PROFILES_VERSION = "profiles"
# Sectors and categories change only through migrations. A migration that changes them must
# bump this version, so running workers reload their cached lists (directory/cache.py):
#   UPDATE data_versions SET version = version + 1 WHERE name = 'taxonomy';
#   INSERT INTO data_versions (name, version) SELECT 'taxonomy', 1
#     WHERE NOT EXISTS (SELECT 1 FROM data_versions WHERE name = 'taxonomy');
# on upgrade and on downgrade (the counter only grows); the labels are indexed for search, so
# it must also call rebuild_index. No migration adds the row up front:
# a restore (core/backup.py) needs data_versions empty in a new database.
TAXONOMY_VERSION = "taxonomy"
_BATCH = "directory.index_batch"  # session.info: the open batch of this session, if any
# session.info: the data sets this transaction changed, for work that follows its commit
# (the jobs area enqueues the matching refit after a commit that changed the profiles)
CHANGED = "directory.changed_versions"
_CHUNK = 500
# The profile columns searchable_texts reads (rebuild_index loads only these).
_INDEXED_COLUMNS = (
    "name",
    "sector_id",
    "sector_detail",
    "city",
    "region",
    "description",
    "tags",
)


@dataclass
class _Batch:
    """Postings and version increments collected until a batch ends."""

    terms: dict[int, dict[str, int]] = field(default_factory=dict)  # profile id -> term weights
    bumps: Counter[str] = field(default_factory=Counter)  # data set name -> increments


def profile_changed(profile: Profile) -> None:
    """Re-index a created or changed profile and bump the ``profiles`` version."""
    terms = index_terms(searchable_texts(profile))
    pending = db.session.info.get(_BATCH)
    if pending is not None:
        pending.terms[profile.id] = terms
        pending.bumps[PROFILES_VERSION] += 1
        return
    _write_index(db.session, {profile.id: terms})
    _write_bumps(db.session, {PROFILES_VERSION: 1})


def profiles_changed(texts: dict[int, list[tuple[str, int]]]) -> None:
    """Re-index many created or changed profiles from their texts; bump the version once.

    ``texts`` maps a profile's id to its ``searchable_texts`` (an import has them from its
    rows, without loading the profiles).
    """
    terms = {pid: index_terms(profile_texts) for pid, profile_texts in texts.items()}
    pending = db.session.info.get(_BATCH)
    if pending is not None:
        pending.terms.update(terms)
        pending.bumps[PROFILES_VERSION] = max(1, pending.bumps[PROFILES_VERSION])
        return
    _write_index(db.session, terms)
    _write_bumps(db.session, {PROFILES_VERSION: 1})


def profile_removed(profile: Profile) -> None:
    """Drop the postings of a profile about to be deleted and bump the ``profiles`` version."""
    pending = db.session.info.get(_BATCH)
    if pending is not None:
        pending.terms.pop(profile.id, None)
    db.session.execute(delete(ProfileWord).where(ProfileWord.profile_id == profile.id))
    bump_version()


def bump_version(name: str = PROFILES_VERSION) -> None:
    """Mark a data set as changed, so every worker rebuilds what it derived from it."""
    pending = db.session.info.get(_BATCH)
    if pending is not None:
        pending.bumps[name] += 1
    else:
        _write_bumps(db.session, {name: 1})


@contextmanager
def batch() -> Iterator[None]:
    """Collect the index writes and version increments of a block; write them when it ends.

    Nothing reads the index inside the block. When the block raises, the collected writes
    are dropped with it (the caller rolls the transaction back).
    """
    if db.session.info.get(_BATCH) is not None:
        yield  # already inside a batch: the outer one writes
        return
    pending = db.session.info[_BATCH] = _Batch()
    try:
        yield
    finally:
        del db.session.info[_BATCH]
    _write_index(db.session, pending.terms)
    _write_bumps(db.session, pending.bumps)


def searchable_texts(profile: Profile) -> list[tuple[str, int]]:
    """Return the texts of a profile that directory search looks at, each with its weight.

    The name and the solutions' titles weigh more (``TITLE``) than the other texts; each tag
    and label is a text of its own, so no phrase spans two of them. Only these attributes
    are read, so an import passes an object of the same shape made from its rows.
    """
    texts = [(profile.name, TITLE)]
    body = [profile.sector_detail, profile.city, profile.region, profile.description]
    body += profile.tags or []
    if profile.sector is not None:
        body += [profile.sector.label_de, profile.sector.label_en]
    categories = list(profile.categories)
    for solution in profile.solutions:
        texts.append((solution.title, TITLE))
        body += [solution.description, solution.references]
        categories += solution.categories
    for category in dict.fromkeys(categories):
        body += [category.label_de, category.label_en]
    return texts + [(text, BODY) for text in body]


def rebuild_index(session: Session) -> int:
    """Re-index every profile in chunks and bump the ``profiles`` version; return the count.

    For an upgrade that changes what the index holds (migration ``0021_search_concepts``)
    and after the thesaurus changed (``flask reindex-search``). It runs on the session given,
    so a migration can pass one bound to its own connection, and loads only the columns the
    index reads, so it keeps working for migrations that later add columns.
    """
    profile_ids = list(session.scalars(select(Profile.id).order_by(Profile.id)))
    labels = (load_only(Category.label_de, Category.label_en),)
    for chunk in _chunks(profile_ids):
        profiles = session.scalars(
            select(Profile)
            .where(Profile.id.in_(chunk))
            .options(
                load_only(*(getattr(Profile, name) for name in _INDEXED_COLUMNS)),
                selectinload(Profile.sector).options(load_only(Sector.label_de, Sector.label_en)),
                selectinload(Profile.categories).options(*labels),
                selectinload(Profile.solutions)
                .options(load_only(Solution.title, Solution.description, Solution.references))
                .selectinload(Solution.categories)
                .options(*labels),
            )
        )
        _write_index(session, {p.id: index_terms(searchable_texts(p)) for p in profiles})
        session.expunge_all()
    if profile_ids:  # a new, empty database keeps data_versions empty (core/backup.py restores)
        _write_bumps(session, {PROFILES_VERSION: 1})
    return len(profile_ids)


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


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(session: Session, table):
    """Return an INSERT for the session's database that knows ON CONFLICT."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)


def _write_bumps(session: Session, bumps: dict[str, int]) -> None:
    session.info.setdefault(CHANGED, set()).update(name for name, n in bumps.items() if n)
    # One upsert per counter: the first change of a data set may happen in two requests at once.
    for name, count in sorted(bumps.items()):
        statement = _insert(session, DataVersion.__table__).values(name=name, version=count)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["name"],
                set_={"version": DataVersion.__table__.c.version + statement.excluded.version},
            )
        )


def _write_index(session: Session, pending: dict[int, dict[str, int]]) -> None:
    """Replace the postings of the given profiles (words looked up or added in chunks)."""
    ids = sorted(pending)
    # A profile may have been deleted since it was collected (ORM delete, cascade).
    existing: set[int] = set()
    for chunk in _chunks(ids):
        existing.update(session.scalars(select(Profile.id).where(Profile.id.in_(chunk))))
    ids = [pid for pid in ids if pid in existing]
    words = sorted(set().union(*(pending[pid] for pid in ids))) if ids else []
    known = _word_ids(session, words)
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
        known.update(_word_ids(session, missing))
    for chunk in _chunks(ids):
        session.execute(delete(ProfileWord).where(ProfileWord.profile_id.in_(chunk)))
    postings = [
        {"profile_id": pid, "word_id": known[word], "weight": weight}
        for pid in ids
        for word, weight in pending[pid].items()
    ]
    insert_rows(session, ProfileWord.__table__, postings)


def _word_ids(session: Session, words: list[str]) -> dict[str, int]:
    """Return the ids of those of the words that are in the vocabulary."""
    known: dict[str, int] = {}
    for chunk in _chunks(words):
        known.update(
            session.execute(
                select(SearchWord.word, SearchWord.id).where(SearchWord.word.in_(chunk))
            )
            .tuples()
            .all()
        )
    return known
