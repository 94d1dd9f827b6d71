"""Fitted engines as shared artefacts: fit once per data version, store, load, prune.

The refit job (``jobs/tasks.py: refit``) and the command line call :func:`refit`; it reads the
``profiles`` data version first, then the profiles, so an artefact never claims a newer
version than the data it was fitted on. Every web worker on every host loads the newest
artefact from the database (``matching/services.py``) and never fits.

An artefact is a zlib-compressed pickle of the engine with the profile ids it knows and a
fingerprint of each profile's input, so a worker can tell which profiles changed since the fit
and vectorise those with the fitted model instead. Unpickling trusts the database, as
everything else the app reads from it. The fit also ranks the organisers' overview with the
new engine and stores it next to the artefact (``matching/ranking.py``).
"""

import hashlib
import logging
import pickle
import time
import zlib
from dataclasses import astuple, dataclass, field

from flask import current_app
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from matchmaker.core.clock import utcnow
from matchmaker.directory.cache import LRU
from matchmaker.directory.indexing import current_version
from matchmaker.directory.models import DataVersion, Profile, Solution
from matchmaker.extensions import db
from matchmaker.matching import ranking
from matchmaker.matching.engine import MatchEngine
from matchmaker.matching.engine import Profile as EngineProfile
from matchmaker.matching.models import ModelArtefact
from matchmaker.matching.ranking import Ranking

log = logging.getLogger(__name__)
SUGGESTIONS_KEPT = 4096  # (reference or fingerprint, k) -> the engine's suggestions, per artefact


@dataclass
class LoadedModel:
    """An engine loaded from an artefact, with what the app needs to use it."""

    artefact_id: int
    version: int
    engine: MatchEngine | None
    refs: dict[int, str]  # profile id -> the engine's reference
    fingerprints: dict[str, bytes]  # engine reference -> fingerprint of the fitted input
    # The engine's suggestions asked for before, by fitted reference or by the fingerprint of
    # a newer input: a stored artefact never changes, so every worker that loaded it computes
    # the same lists for the same input.
    suggested: LRU = field(default_factory=lambda: LRU(SUGGESTIONS_KEPT), repr=False)
    # the overview's pairs ranked on this artefact, read on first use (``matching/overview.py``)
    ranking: Ranking | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.ids = {ref: pid for pid, ref in self.refs.items()}


def engine_profile(profile: Profile) -> EngineProfile:
    """Turn a directory profile into the engine's input."""
    texts = [profile.description]
    categories = {c.code for c in profile.categories}
    for solution in profile.solutions:
        texts += [solution.title, solution.description]
        categories.update(c.code for c in solution.categories)
    sector = " ".join(
        part
        for part in (
            profile.sector.label_de if profile.sector else "",
            profile.sector_detail,
        )
        if part
    )
    return EngineProfile(
        ref=profile.ref,
        kind=profile.kind,
        text="\n".join(t for t in texts if t),
        name=profile.name,
        sector=sector,
        categories=tuple(sorted(categories)),
        tags=tuple(profile.tags or ()),
    )


def fingerprint(item: EngineProfile) -> bytes:
    """Return a short digest of everything the engine reads from a profile."""
    return hashlib.blake2b(repr(astuple(item)).encode("utf-8"), digest_size=12).digest()


def live_profiles(ids: list[int] | None = None) -> list[Profile]:
    """Load the live profiles (all, or those of ``ids``) with what the engine reads."""
    query = (
        select(Profile)
        .where(Profile.deleted_at.is_(None))
        .options(
            selectinload(Profile.categories),
            selectinload(Profile.solutions).selectinload(Solution.categories),
        )
        .order_by(Profile.id)
    )
    if ids is not None:
        query = query.where(Profile.id.in_(ids))
    return list(db.session.scalars(query))


def newest() -> tuple[int, int] | None:
    """Return ``(id, data version)`` of the newest artefact, or None when there is none."""
    row = db.session.execute(
        select(ModelArtefact.id, ModelArtefact.data_version)
        .order_by(ModelArtefact.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class Head:
    """The newest artefact, and data versions read in the same statement."""

    id: int
    data_version: int
    versions: dict[str, int]


def head(*names: str) -> Head | None:
    """Return the newest artefact with the named data versions (0 if never changed), or None.

    One statement for what a request for suggestions checks first.
    """
    versions = [
        select(DataVersion.version).where(DataVersion.name == name).scalar_subquery()
        for name in names
    ]
    row = db.session.execute(
        select(ModelArtefact.id, ModelArtefact.data_version, *versions)
        .order_by(ModelArtefact.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return Head(row[0], row[1], {name: v or 0 for name, v in zip(names, row[2:], strict=True)})


def is_current() -> bool:
    """Tell whether the newest artefact was fitted on the current profiles and is ranked."""
    head = newest()
    return head is not None and head[1] >= current_version() and ranking.is_stored(head[0])


@dataclass(frozen=True)
class StoredArtefact:
    """What a fit stored (the blob stays in the database)."""

    id: int
    data_version: int
    profile_count: int
    fit_seconds: float
    size: int


def refit(*, force: bool = False, in_session: bool = False) -> StoredArtefact | None:
    """Fit the engine on the current profiles and store it, unless the newest one is current.

    The artefact is written and old ones pruned in a transaction of their own, committed at
    once, so the model is there for every worker whatever the caller does next; with
    ``in_session`` they join the session's transaction instead (the caller commits), for a
    caller whose session may already hold writes (SQLite allows one writer).
    A current artefact stored without the overview's ranking (before it existed) is ranked,
    except ``in_session`` (a build needs the model, not the overview).
    Returns what was stored, or None when no artefact had to be fitted.
    """
    version = current_version()
    head = newest()
    if head is not None and head[1] >= version and not force:
        if not in_session and not ranking.is_stored(head[0]):
            _rank_stored(head[0])
        return None
    started = time.perf_counter()
    profiles = live_profiles()
    inputs = [engine_profile(p) for p in profiles]
    engine = None
    if inputs:
        try:
            engine = MatchEngine(**current_app.config["MATCHING_PARAMS"]).fit(inputs)
        except ValueError:
            # Suggestions are an extra on every page; a degenerate directory (e.g. texts
            # made only of stop words) gets an artefact without an engine, not a failing job.
            log.exception("Fitting the matching engine failed")
    refs = {p.id: item.ref for p, item in zip(profiles, inputs, strict=True)}
    payload = {
        "engine": engine,
        "refs": refs,
        "fingerprints": {item.ref: fingerprint(item) for item in inputs},
    }
    data = zlib.compress(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL), 1)
    ranked = ranking.rank(engine, refs, {p.id: p.updated_at for p in profiles})
    values = {
        "data_version": version,
        "profile_count": len(inputs),
        "fit_seconds": round(time.perf_counter() - started, 3),
        "size": len(data),
    }
    if in_session:
        artefact_id = _store(db.session.connection(), data, values, ranked)
    else:
        with db.engine.begin() as connection:
            artefact_id = _store(connection, data, values, ranked)
    stored = StoredArtefact(id=artefact_id, **values)
    log.info("Matching model fitted: %s", stored)
    return stored


def _store(connection: Connection, data: bytes, values: dict, ranked: Ranking) -> int:
    """Insert an artefact with its ranking and prune old ones on ``connection``; return the id."""
    artefact_id = connection.execute(
        insert(ModelArtefact)
        .values(data=data, created_at=utcnow(), **values)
        .returning(ModelArtefact.id)
    ).scalar_one()
    ranking.store(connection, artefact_id, ranked)
    prune(connection, current_app.config["MATCHING_ARTEFACTS_KEPT"])
    return artefact_id


def _rank_stored(artefact_id: int) -> None:
    """Rank a current artefact stored without the overview's ranking, and store the ranking.

    The artefact is current, so every profile is as the fit read it: their ``updated_at`` now
    are those the fit saw.
    """
    model = load(artefact_id)
    if model is None:
        return
    rows = db.session.execute(select(Profile.id, Profile.updated_at)).tuples()
    updated = {pid: at for pid, at in rows if pid in model.refs}
    ranked = ranking.rank(model.engine, model.refs, updated)
    try:
        with db.engine.begin() as connection:
            ranking.store(connection, artefact_id, ranked)
    except IntegrityError:
        return  # another process ranked it (or the artefact was pruned) meanwhile
    log.info("Overview ranked on the stored artefact %s: %s pairs", artefact_id, len(ranked))


def ensure_model() -> StoredArtefact | None:
    """Fit and store a model of the current profiles unless the newest one is (never requests).

    Jobs that score or explain (a schedule build) and the command line call it first: when
    profiles changed since the newest artefact, they fit rather than use a model of an older
    data version. The artefact joins the caller's transaction; a job commits it before it
    starts writing progress (SQLite has one writer). Returns what was stored, or None.
    """
    return refit(in_session=True)


def prune(connection: Connection, kept: int) -> int:
    """Delete all but the newest ``kept`` artefacts (at least one stays); return how many."""
    keep = list(
        connection.scalars(
            select(ModelArtefact.id).order_by(ModelArtefact.id.desc()).limit(max(1, kept))
        )
    )
    if not keep:
        return 0
    result = connection.execute(delete(ModelArtefact).where(ModelArtefact.id < min(keep)))
    return result.rowcount or 0


def load(artefact_id: int) -> LoadedModel | None:
    """Read and unpickle one artefact (None when it was pruned meanwhile)."""
    # the session's transaction: it sees a first model a build just stored in it
    row = db.session.execute(
        select(ModelArtefact.data_version, ModelArtefact.data).where(
            ModelArtefact.id == artefact_id
        )
    ).first()
    if row is None:
        return None
    # the database is trusted like the code: only the refit job writes artefacts
    payload = pickle.loads(zlib.decompress(row.data))  # noqa: S301
    return LoadedModel(
        artefact_id=artefact_id,
        version=row.data_version,
        engine=payload["engine"],
        refs=payload["refs"],
        fingerprints=payload["fingerprints"],
    )
