"""The organisers' match overview: the stored ranking filtered, sorted and worded a page at a time.

The pairs come from the ranking the fit stored next to the model in use (``matching/ranking.py``):
a request reads it once per artefact (one statement, then kept with the loaded model, which
never changes), reads the live profiles' names and sectors in one narrow statement, and
filters and sorts the pairs as arrays; only the rows shown are turned into objects and worded.
Until the model's ranking is stored the overview is being prepared (:func:`pairs` is None).

Profiles new or changed since the fit are handled as on their own profile pages: an SME whose
``updated_at`` differs from the one the fit read is read in full and, when the fingerprint of
its current input differs, its pairs are the engine's suggestions for that input; startups are
ranked as fitted until the next fit, as in every SME's suggestions; deleted profiles drop out.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select, union

from matchmaker.directory.indexing import PROFILES_VERSION
from matchmaker.directory.models import (
    Category,
    Profile,
    Sector,
    Solution,
    profile_categories,
    solution_categories,
)
from matchmaker.extensions import db
from matchmaker.matching import artefacts, ranking, services
from matchmaker.matching.artefacts import LoadedModel, live_profiles

SORTS = ("score", "sme", "startup")


@dataclass(frozen=True)
class PairSide:
    """One profile of an overview pair: what the page and the CSV show of it."""

    id: int
    ref: str
    name: str


@dataclass(frozen=True)
class PairRow:
    """One SME × startup pair of the organisers' overview."""

    sme: PairSide
    startup: PairSide
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class LiveProfile:
    """What the overview reads of every live profile (one narrow statement, no texts)."""

    kind: str
    ref: str
    name: str
    sector: str | None
    updated_at: datetime


@dataclass(frozen=True)
class Pairs:
    """The overview's pairs after filters and sort order, as arrays; rows made on demand."""

    model: LoadedModel | None
    smes: np.ndarray
    startups: np.ndarray
    scores: np.ndarray
    live: dict[int, LiveProfile]
    current: bool  # the model was fitted on the profiles as they are (none changed since)

    def __len__(self) -> int:
        return len(self.smes)

    def rows(self, start: int = 0, stop: int | None = None) -> list[PairRow]:
        """Return the pairs from ``start`` to ``stop`` with the engine's reasons.

        The reasons are worded in one batch with the model that ranked the pairs; only these
        rows' profiles are read: none when the model fitted them as they are now, else with
        their use cases and solutions in one statement each (``live_profiles``).
        """
        window = slice(start, stop)
        pairs = list(zip(self.smes[window].tolist(), self.startups[window].tolist(), strict=True))
        reasons = services.reasons_of(pairs, self._scoring({i for pair in pairs for i in pair}))
        return [
            PairRow(self._side(a), self._side(b), score, tuple(reasons[a, b]))
            for (a, b), score in zip(pairs, self.scores[window].tolist(), strict=True)
        ]

    def _scoring(self, ids: set[int]) -> services.Scoring:
        """Return the model with the query items of ``ids`` (live: read with the pairs)."""
        if not self.current:
            return services.Scoring(self.model)  # reads the profiles to compare fingerprints
        items = {pid: self.model.refs[pid] for pid in ids}
        return services.Scoring(self.model, items, set(ids))

    def _side(self, pid: int) -> PairSide:
        profile = self.live[pid]
        return PairSide(pid, profile.ref or str(pid), profile.name)


def _instant(at: datetime) -> datetime:
    """Return a stored time comparable whatever the database gives (SQLite: naive UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _live() -> dict[int, LiveProfile]:
    """Read every live profile's kind, reference, name, sector and ``updated_at`` by id."""
    rows = db.session.execute(
        select(
            Profile.id,
            Profile.kind,
            Profile.external_ref,
            Profile.name,
            Sector.code,
            Profile.updated_at,
        )
        .outerjoin(Sector, Profile.sector_id == Sector.id)
        .where(Profile.deleted_at.is_(None))
        .order_by(Profile.id)
    ).tuples()
    return {
        pid: LiveProfile(kind, ref or "", name, sector, updated_at)
        for pid, kind, ref, name, sector, updated_at in rows
    }


def _ranking_of(model: LoadedModel) -> ranking.Ranking | None:
    """Return the model's stored ranking, read once per artefact (None until it is stored)."""
    if model.ranking is None:
        model.ranking = ranking.load(model.artefact_id)
    return model.ranking


def _current_pairs(
    model: LoadedModel, ranked: ranking.Ranking, live: dict[int, LiveProfile]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the ranked pairs with those of SMEs new or changed since the fit re-ranked.

    Only the SMEs whose ``updated_at`` moved are read in full; their fingerprint decides, as
    for their suggestions (``services.suggest_current``).
    """
    fitted = {pid: _instant(at) for pid, at in ranked.updated.items()}
    moved = [
        pid
        for pid, profile in live.items()
        if profile.kind == "sme" and fitted.get(pid) != _instant(profile.updated_at)
    ]
    smes, startups, scores = ranked.smes, ranked.startups, ranked.scores
    if not moved:
        return smes, startups, scores
    # SMEs whose input is as fitted (only columns the engine does not read changed) stay
    current = services.suggest_current(model, live_profiles(moved), ranking.PER_SME)
    new_rows = [
        (pid, model.ids[s.ref], s.score)
        for pid, found in current.items()
        for s in found
        if s.ref in model.ids
    ]
    keep = ~np.isin(smes, list(current))
    extra = np.array(new_rows, dtype=np.float64).reshape(-1, 3)
    return (
        np.concatenate([smes[keep], extra[:, 0].astype(np.int64)]),
        np.concatenate([startups[keep], extra[:, 1].astype(np.int64)]),
        np.concatenate([scores[keep], extra[:, 2].astype(np.float32)]),
    )


def _with_category(code: str) -> set[int]:
    """Return the profiles with a use case, their own or one of their solutions', by id."""
    own = (
        select(profile_categories.c.profile_id)
        .join(Category, Category.id == profile_categories.c.category_id)
        .where(Category.code == code)
    )
    of_solutions = (
        select(Solution.profile_id)
        .join(solution_categories, solution_categories.c.solution_id == Solution.id)
        .join(Category, Category.id == solution_categories.c.category_id)
        .where(Category.code == code)
    )
    return set(db.session.scalars(union(own, of_solutions)))


def _name_ranks(ids: np.ndarray, live: dict[int, LiveProfile]) -> np.ndarray:
    """Return each profile's position in the order of names (then ids), by position in ids."""
    order = sorted(range(len(ids)), key=lambda i: (live[int(ids[i])].name, int(ids[i])))
    ranks = np.empty(len(ids), dtype=np.int64)
    ranks[order] = np.arange(len(ids))
    return ranks


def pairs(threshold: float, sector: str = "", category: str = "", sort: str = "score"):
    """Return the SME × startup pairs scoring at least ``threshold`` in ``sort`` order.

    Every SME's best ``ranking.PER_SME`` startups, as the model in use ranked them. With
    ``category``, a pair stays when either profile or one of its solutions has that use case;
    with ``sector``, when the SME is of that sector. ``sort``: by score (then SME and startup
    name), or by SME or startup name (then score, then the other name). Returns a
    :class:`Pairs`, or None while the model's ranking is being prepared.
    """
    head = artefacts.head(PROFILES_VERSION)
    model = services.cache().model_for(head.id if head is not None else None)
    live: dict[int, LiveProfile] = {}
    if model is None or model.engine is None:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(model, empty, empty, np.zeros(0, dtype=np.float32), live, current=False)
    ranked = _ranking_of(model)
    if ranked is None:
        return None
    live = _live()
    current = head.versions[PROFILES_VERSION] == model.version
    if current:
        smes, startups, scores = ranked.smes, ranked.startups, ranked.scores
    else:
        smes, startups, scores = _current_pairs(model, ranked, live)
    ids = np.fromiter(live, dtype=np.int64, count=len(live))  # ascending (ORDER BY id)
    sme_at = np.minimum(np.searchsorted(ids, smes), max(len(ids) - 1, 0))
    startup_at = np.minimum(np.searchsorted(ids, startups), max(len(ids) - 1, 0))
    keep = scores.astype(np.float64) >= threshold
    if len(ids):
        keep &= (ids[sme_at] == smes) & (ids[startup_at] == startups)
    else:
        keep[:] = False
    if sector:
        of_sector = np.array([live[pid].sector == sector for pid in ids.tolist()], dtype=bool)
        keep &= of_sector[sme_at]
    if category:
        chosen = np.isin(ids, list(_with_category(category)))
        keep &= chosen[sme_at] | chosen[startup_at]
    smes, startups, scores = smes[keep], startups[keep], scores[keep]
    sme_at, startup_at = sme_at[keep], startup_at[keep]
    names = _name_ranks(ids, live)
    by_sme, by_startup, by_score = names[sme_at], names[startup_at], -scores.astype(np.float64)
    if sort == "sme":
        order = np.lexsort((by_startup, by_score, by_sme))
    elif sort == "startup":
        order = np.lexsort((by_sme, by_score, by_startup))
    else:
        order = np.lexsort((by_startup, by_sme, by_score))
    return Pairs(model, smes[order], startups[order], scores[order], live, current)
