"""Check a schedule against its problem and measure it (holes, score, fairness).

The rules mirror ``shared/tools/check_schedule.py``, the judge, so the app can check an organiser's
manual moves immediately with the same verdicts.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from matchmaker.scheduling.solver.problem import Problem


def _entries(schedule: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if isinstance(schedule, Mapping):
        return list(schedule.get("meetings", []))
    return list(schedule)


def count_holes(slots: Iterable[int]) -> int:
    """Count maximal runs of free slots between two meetings.

    Parameters
    ----------
    slots : iterable of int
        Slots where one participant meets.

    Returns
    -------
    int
    """
    ss = sorted(set(slots))
    return sum(1 for x, y in itertools.pairwise(ss) if y - x > 1)


def check(
    problem: Problem | Mapping[str, Any],
    schedule: Mapping[str, Any] | Iterable[Mapping[str, Any]],
) -> list[str]:
    """List the hard-constraint violations of a schedule.

    Parameters
    ----------
    problem : Problem or mapping
        The problem, parsed or in its JSON form.
    schedule : mapping or iterable of mappings
        The schedule JSON (``{"meetings": [...]}``) or just its list of placed meetings, each with
        ``id``, ``slot`` and optionally ``table``.

    Returns
    -------
    list of str
        Human-readable violations; empty when the schedule is valid. Unplaced required meetings
        count as one violation, as in the judge.
    """
    prob = Problem.coerce(problem)
    entries = _entries(schedule)
    parts = prob.participant_map()
    v: list[str] = []
    placed: dict[str, int] = {}
    for e in entries:
        mid = str(e["id"])
        if not prob.has_meeting(mid):
            v.append(f"unknown meeting {mid}")
            continue
        if mid in placed:
            v.append(f"meeting {mid} placed twice")
        placed[mid] = int(e["slot"])
    busy: dict[str, list[int]] = defaultdict(list)
    per_slot: Counter[int] = Counter()
    for mid, s in placed.items():
        m = prob.meeting(mid)
        if not 1 <= s <= prob.slots:
            v.append(f"{mid}: slot {s} out of range")
        if prob.morning_slots and m.window == "morning" and s > prob.morning_slots:
            v.append(f"{mid}: not in the morning")
        if prob.morning_slots and m.window == "afternoon" and s <= prob.morning_slots:
            v.append(f"{mid}: not in the afternoon")
        if m.fixed_slot and s != m.fixed_slot:
            v.append(f"{mid}: fixed at {m.fixed_slot}, placed at {s}")
        for q in (m.a, m.b):
            if s in parts[q].unavailable:
                v.append(f"{mid}: {q} unavailable in slot {s}")
            busy[q].append(s)
        per_slot[s] += 1
    tables_used: dict[int, set[int]] = defaultdict(set)
    for e in entries:
        if "table" in e and e.get("table") is not None and prob.has_meeting(str(e["id"])):
            t, s = int(e["table"]), int(e["slot"])
            if not 1 <= t <= prob.tables:
                v.append(f"{e['id']}: table {t} out of range 1..{prob.tables}")
            if t in tables_used[s]:
                v.append(f"table {t} used twice in slot {s}")
            tables_used[s].add(t)
    for m in prob.meetings:
        for before in m.after:
            if m.id in placed and before in placed and not placed[before] < placed[m.id]:
                v.append(f"{m.id} must come after {before}")
    for s, c in sorted(per_slot.items()):
        if c > prob.tables:
            v.append(f"slot {s}: {c} meetings > {prob.tables} tables")
    for q, slots in busy.items():
        for s, k in sorted(Counter(slots).items()):
            if k > 1:
                v.append(f"participant {q} double-booked in slot {s}")
        cap = parts[q].max_meetings
        if cap is not None and len(slots) > cap:
            v.append(f"participant {q} has {len(slots)} > {cap} meetings")
    listed = Counter(frozenset((m.a, m.b)) for m in prob.meetings)
    pairs = Counter(frozenset((prob.meeting(mid).a, prob.meeting(mid).b)) for mid in placed)
    for pr, k in pairs.items():
        if k > listed[pr]:
            v.append(f"pair {sorted(pr)} meets {k} times")
    missing = [m.id for m in prob.meetings if m.required and m.id not in placed]
    if missing:
        v.append(f"{len(missing)} required meetings unscheduled")
    return v


def evaluate(
    problem: Problem | Mapping[str, Any],
    schedule: Mapping[str, Any] | Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """Measure a schedule the way the judge does.

    Parameters
    ----------
    problem : Problem or mapping
    schedule : mapping or iterable of mappings

    Returns
    -------
    dict
        ``violations`` (list), ``placed``, ``holes``, ``hole_spread``, ``score`` (4 decimals),
        ``zero_meeting_participants`` and ``fairness_misses``.
    """
    prob = Problem.coerce(problem)
    entries = [e for e in _entries(schedule) if prob.has_meeting(str(e["id"]))]
    busy: dict[str, set[int]] = defaultdict(set)
    placed = {str(e["id"]): int(e["slot"]) for e in entries}
    for mid, s in placed.items():
        m = prob.meeting(mid)
        busy[m.a].add(s)
        busy[m.b].add(s)
    holes = [count_holes(ss) for ss in busy.values()] or [0]
    eligible = prob.eligible()
    return {
        "violations": check(prob, schedule),
        "placed": len(placed),
        "holes": sum(holes),
        "hole_spread": max(holes) - min(holes),
        "score": round(sum(prob.meeting(mid).score for mid in placed), 4),
        "zero_meeting_participants": sum(1 for p in prob.participants if p.id not in busy),
        "fairness_misses": sum(1 for q in eligible if q not in busy),
    }
