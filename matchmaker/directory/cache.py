"""Per-worker caches of the directory page, checked against the data versions on every request.

Each worker process keeps what the directory page derives from the database: the taxonomy
lists, the region list, the search vocabulary, the ids and total of recent queries and
their rendered results fragments. Every request first reads the data versions (one query
on the small ``data_versions`` table). Every change to profiles or solutions bumps the
``profiles`` version in the same transaction (``directory.indexing``), and migrations
that change sectors or categories bump ``taxonomy``; when either differs from the versions
a worker's copy was built on, the copy is dropped and rebuilt. So the very next request
after a commit, in any worker on any host, answers from current data, and two workers
never disagree about committed data.

``DIRECTORY_CACHE = False`` (environment ``DIRECTORY_CACHE=0``) turns the caches off: every
request then loads the lists, runs the search and renders the page from scratch.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, text

from matchmaker.directory import indexing, queries
from matchmaker.directory.models import Category, SearchWord, Sector
from matchmaker.directory.search import CONCEPT_MARK, is_substring_term
from matchmaker.extensions import db

RESULTS_SIZE = 2048  # (query, page) -> ids and total: a few hundred bytes each
FRAGMENTS_SIZE = 128  # (language, query, page) -> rendered HTML: tens of kB each
TERMS_SIZE = 4096  # search term -> matching word ids
# A term matching more words than this is matched in SQL instead of with literal ids.
MAX_LITERAL_WORDS = 2000
_MISSING = object()


class LRU:
    """A small thread-safe least-recently-used mapping."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default=None):
        """Return the value for ``key`` (and mark it as recently used), or ``default``."""
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is _MISSING:
                return default
            self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value) -> None:
        """Store a value, evicting the least recently used one beyond ``maxsize``."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class Term:
    """A sector or use-case category as plain data (no ORM state to share across requests)."""

    id: int
    code: str
    label_de: str
    label_en: str

    def label(self, locale: str) -> str:
        """Return the label in the given language."""
        return self.label_en if locale == "en" else self.label_de


def _terms(model) -> tuple[Term, ...]:
    rows = db.session.execute(
        select(model.id, model.code, model.label_de, model.label_en).order_by(
            model.position, model.code
        )
    )
    return tuple(Term(*row) for row in rows)


class Vocabulary:
    """The search index's words (word -> id), for matching a term without SQL.

    Words are only ever added; a refresh reads the words with ids above the highest one
    seen, then checks the count, and reads everything again when they disagree (ids that
    a concurrent transaction committed out of order, or words removed). A refresh builds a
    new dict, so a snapshot keeps matching against the one it was built with.
    """

    def __init__(self) -> None:
        self.words: dict[str, int] = {}
        self.max_id = 0

    def refresh(self) -> dict[str, int]:
        """Bring the copy up to date with the database; return the words."""
        words = dict(self.words)
        words.update(self._read(SearchWord.id > self.max_id))
        total = db.session.scalar(select(func.count()).select_from(SearchWord)) or 0
        if total != len(words):
            words = self._read(None)
        self.words = words
        self.max_id = max(words.values(), default=0)
        return words

    @staticmethod
    def _read(condition) -> dict[str, int]:
        stmt = select(SearchWord.word, SearchWord.id)
        if condition is not None:
            stmt = stmt.where(condition)
        return dict(db.session.execute(stmt).tuples().all())


def match_words(words: dict[str, int], term: str) -> tuple[int, ...]:
    """Return the ids of the words a search term matches (substring, or whole word/concept)."""
    if is_substring_term(term):
        # concepts ("#bookkeeping") are matched whole only
        return tuple(wid for word, wid in words.items() if term in word and word[0] != CONCEPT_MARK)
    wid = words.get(term)
    return (wid,) if wid is not None else ()


class Snapshot:
    """What the directory derived from the data at one pair of data versions."""

    def __init__(self, versions: tuple[int, int], words: dict[str, int] | None) -> None:
        self.versions = versions
        self.sectors = _terms(Sector)
        self.categories = _terms(Category)
        self.sectors_by_id = {s.id: s for s in self.sectors}
        self.regions = tuple(queries.regions())
        self.words = words
        self.results = LRU(RESULTS_SIZE)
        self.fragments = LRU(FRAGMENTS_SIZE)
        self._terms = LRU(TERMS_SIZE)

    def fragment(self, key: Hashable, render: Callable[[], str]) -> str:
        """Return the rendered HTML kept for ``key``, rendering and keeping it the first time."""
        fragment = self.fragments.get(key)
        if fragment is None:
            fragment = render()
            self.fragments.put(key, fragment)
        return fragment

    def word_ids(self, term: str) -> tuple[int, ...] | None:
        """Return the word ids a term matches, or None to match it in SQL."""
        if self.words is None:
            return None
        ids = self._terms.get(term)
        if ids is None:
            ids = match_words(self.words, term)
            self._terms.put(term, ids)
        return ids if len(ids) <= MAX_LITERAL_WORDS else None


_VERSIONS_SQL = text("SELECT name, version FROM data_versions WHERE name IN (:profiles, :taxonomy)")
_VERSION_NAMES = {"profiles": indexing.PROFILES_VERSION, "taxonomy": indexing.TAXONOMY_VERSION}


def read_versions() -> tuple[int, int]:
    """Return the (profiles, taxonomy) data versions: the per-request check, kept cheap.

    A plain SQL statement costs a fraction of the ORM path (~200 us). A change made earlier
    in the same request has already written its version increment (``directory.indexing``),
    so the versions include it.
    """
    if not db.session.registry.has():
        return _versions_without_session()
    return _versions(db.session().connection())


# The same statement for a bare DB-API cursor, whose parameter style differs per driver;
# the names are constants, so they are spelt out.
_VERSIONS_RAW_SQL = "SELECT name, version FROM data_versions WHERE name IN ('profiles', 'taxonomy')"
assert (indexing.PROFILES_VERSION, indexing.TAXONOMY_VERSION) == ("profiles", "taxonomy")


def _versions_without_session() -> tuple[int, int]:
    """Read the versions on a pooled DB-API connection, outside a transaction.

    For a request that has no ORM session yet (an anonymous visitor on a cached page):
    no session is built and torn down, and PostgreSQL is spared the BEGIN and ROLLBACK
    round trips (SQLite's driver does not open a transaction for a SELECT). The checkout
    still goes through the pool, with its pre-ping. ~30 us on SQLite and ~110 us on
    PostgreSQL, against ~100 / ~200 us through a Core connection. The directory page
    only reads, and the versions are read before anything derived from them, so each
    statement seeing the latest commit is all it needs.
    """
    connection = db.engine.raw_connection()
    try:
        driver = connection.driver_connection
        autocommit = db.engine.dialect.name != "sqlite" and hasattr(driver, "autocommit")
        if autocommit:
            driver.autocommit = True
        try:
            cursor = connection.cursor()
            cursor.execute(_VERSIONS_RAW_SQL)
            rows = dict(cursor.fetchall())
            cursor.close()
        finally:
            if autocommit:
                driver.autocommit = False
    finally:
        connection.close()
    return (rows.get(indexing.PROFILES_VERSION, 0), rows.get(indexing.TAXONOMY_VERSION, 0))


def _versions(connection) -> tuple[int, int]:
    rows = dict(connection.execute(_VERSIONS_SQL, _VERSION_NAMES).tuples().all())
    return (
        rows.get(indexing.PROFILES_VERSION, 0),
        rows.get(indexing.TAXONOMY_VERSION, 0),
    )


class DirectoryCache:
    """One app's (one worker's) directory snapshot, replaced when the data versions move."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._vocabulary = Vocabulary()
        self.builds = 0

    def snapshot(self) -> Snapshot:
        """Return a snapshot built on the current data versions (rebuilt if they moved)."""
        versions = read_versions()
        snapshot = self._snapshot
        if snapshot is not None and snapshot.versions == versions:
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or snapshot.versions != versions:
                snapshot = Snapshot(versions, self._vocabulary.refresh())
                self._snapshot = snapshot
                self.builds += 1
        return snapshot


def enabled() -> bool:
    """Tell whether the directory caches are switched on (``DIRECTORY_CACHE``)."""
    return bool(current_app.config.get("DIRECTORY_CACHE", True))


def snapshot() -> Snapshot:
    """Return the directory snapshot for this request.

    With the caches switched off, a fresh snapshot without a vocabulary copy is built
    for every request (search terms are then matched in SQL).
    """
    if not enabled():
        return Snapshot((-1, -1), None)
    return current_app.extensions.setdefault("directory_cache", DirectoryCache()).snapshot()
