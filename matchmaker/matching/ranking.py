"""The organisers' overview ranked once per model: every SME's best startups, stored by the fit.

Ranking every SME against every startup takes the better part of a second at 2,500 profiles
and grows with the event, so no web request does it: the fit (``artefacts.refit``) ranks with
the engine it has just fitted and stores the pairs next to the artefact, in the same
transaction. Every worker on every host reads the same pairs for the same artefact; a page of
the overview (``matching/overview.py``) only filters, sorts and words them.

With the pairs the fit stores each fitted profile's ``updated_at`` as it read it: a profile
whose ``updated_at`` differs now, or that is not among them, is new or changed since the fit,
and the overview ranks such an SME from its current input, as its own profile page does.
Unpickling trusts the database, as the artefacts do.
"""

import pickle
import zlib
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, insert, select

from matchmaker.core.clock import utcnow
from matchmaker.extensions import db
from matchmaker.matching.engine import MatchEngine
from matchmaker.matching.models import OverviewRanking

PER_SME = 50  # startups listed per SME (the best first)


@dataclass(frozen=True)
class Ranking:
    """The pairs of one artefact: parallel arrays of SME ids, startup ids and scores."""

    smes: np.ndarray  # int64 profile ids
    startups: np.ndarray  # int64 profile ids
    scores: np.ndarray  # float32, the engine's scores (as ``MatchEngine.top_k_all`` gives)
    updated: dict[int, datetime]  # fitted profile id -> its ``updated_at`` as the fit read it

    def __len__(self) -> int:
        return len(self.smes)


def rank(engine: MatchEngine | None, refs: dict[int, str], updated: dict[int, datetime]) -> Ranking:
    """Rank the best ``PER_SME`` startups of every fitted SME (no engine: no pairs)."""
    smes: list[int] = []
    startups: list[int] = []
    scores: list[float] = []
    if engine is not None:
        ids = {ref: pid for pid, ref in refs.items()}
        best = engine.top_k_all(k=PER_SME, direction="sme", reasons=False)
        for sme_ref, suggestions in best.items():
            for s in suggestions:
                smes.append(ids[sme_ref])
                startups.append(ids[s.ref])
                scores.append(s.score)
    return Ranking(
        np.array(smes, dtype=np.int64),
        np.array(startups, dtype=np.int64),
        np.array(scores, dtype=np.float32),
        updated,
    )


def store(connection: Connection, artefact_id: int, ranking: Ranking) -> None:
    """Insert the ranking of an artefact on ``connection`` (the fit's transaction)."""
    payload = {
        "smes": ranking.smes,
        "startups": ranking.startups,
        "scores": ranking.scores,
        "updated": ranking.updated,
    }
    data = zlib.compress(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL), 1)
    connection.execute(
        insert(OverviewRanking).values(
            artefact_id=artefact_id, pair_count=len(ranking), data=data, created_at=utcnow()
        )
    )


def is_stored(artefact_id: int) -> bool:
    """Tell whether the artefact's ranking is stored."""
    query = select(OverviewRanking.artefact_id).where(OverviewRanking.artefact_id == artefact_id)
    return db.session.scalar(query) is not None


def load(artefact_id: int) -> Ranking | None:
    """Read the ranking of an artefact (None when it is not stored, or the artefact pruned)."""
    data = db.session.scalar(
        select(OverviewRanking.data).where(OverviewRanking.artefact_id == artefact_id)
    )
    if data is None:
        return None
    # the database is trusted like the code: only the fit writes rankings
    payload = pickle.loads(zlib.decompress(data))  # noqa: S301
    return Ranking(payload["smes"], payload["startups"], payload["scores"], payload["updated"])
