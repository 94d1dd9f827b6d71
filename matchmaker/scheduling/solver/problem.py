"""Meeting-schedule problems: parse the JSON format and derive each meeting's feasible slots.

The JSON format is described in ``shared/data/schedule/README.md``. Everything here is pure
Python: no Flask, no database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Scores are compared as integers in the solver: 4 decimals, as in the problem files.
SCORE_SCALE = 10_000


@dataclass(frozen=True)
class Participant:
    """One person or firm who can take part in meetings.

    Attributes
    ----------
    id : str
        Unique identifier.
    max_meetings : int or None
        Cap on the number of meetings; ``None`` means no cap beyond the slot count.
    unavailable : frozenset of int
        Slots (1-based) where the participant cannot meet.
    side : str or None
        Informational only (``sme``, ``startup``); the solver never relies on it.
    """

    id: str
    max_meetings: int | None = None
    unavailable: frozenset[int] = frozenset()
    side: str | None = None


@dataclass(frozen=True)
class Meeting:
    """One candidate one-to-one meeting.

    Attributes
    ----------
    id : str
        Unique identifier.
    a, b : str
        Participant ids. Pairs are general: both may be of the same side.
    score : float
        Worth of the meeting.
    required : bool
        The meeting must be placed.
    window : str
        ``any``, ``morning`` or ``afternoon``.
    fixed_slot : int or None
        The meeting must take place at this slot.
    after : tuple of str
        Meetings that must take place earlier (when both are placed).
    """

    id: str
    a: str
    b: str
    score: float = 0.0
    required: bool = False
    window: str = "any"
    fixed_slot: int | None = None
    after: tuple[str, ...] = ()


@dataclass
class Problem:
    """A meeting-scheduling problem.

    Attributes
    ----------
    slots : int
        Number of time slots, numbered ``1..slots``.
    tables : int
        Meetings that fit in one slot.
    participants : list of Participant
    meetings : list of Meeting
    morning_slots : int or None
        Slots ``1..morning_slots`` are the morning, the others the afternoon.
    fairness_threshold : float or None
        Participants with a candidate of at least this score should get a meeting.
    """

    slots: int
    tables: int
    participants: list[Participant]
    meetings: list[Meeting]
    morning_slots: int | None = None
    fairness_threshold: float | None = None
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {m.id: i for i, m in enumerate(self.meetings)}
        if len(self._index) != len(self.meetings):
            raise ValueError("meeting ids must be unique")
        known = {p.id for p in self.participants}
        extra = sorted({q for m in self.meetings for q in (m.a, m.b)} - known)
        if extra:
            # A participant named only in meetings has no cap and no unavailability.
            self.participants = [*self.participants, *(Participant(id=q) for q in extra)]

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        """Build a problem from its JSON form.

        Parameters
        ----------
        data : mapping
            The decoded problem JSON.

        Returns
        -------
        Problem
        """
        participants = [
            Participant(
                id=str(p["id"]),
                max_meetings=p.get("max_meetings"),
                unavailable=frozenset(int(s) for s in p.get("unavailable") or ()),
                side=p.get("side"),
            )
            for p in data.get("participants", [])
        ]
        meetings = [
            Meeting(
                id=str(m["id"]),
                a=str(m["a"]),
                b=str(m["b"]),
                score=float(m.get("score") or 0.0),
                required=bool(m.get("required", False)),
                window=m.get("window") or "any",
                fixed_slot=m.get("fixed_slot") or None,
                after=tuple(str(x) for x in m.get("after") or ()),
            )
            for m in data.get("meetings", [])
        ]
        return cls(
            slots=int(data["slots"]),
            tables=int(data["tables"]),
            participants=participants,
            meetings=meetings,
            morning_slots=data.get("morning_slots"),
            fairness_threshold=data.get("fairness_threshold"),
        )

    @classmethod
    def load(cls, path: str | Path) -> Problem:
        """Read a problem from a JSON file."""
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))

    @classmethod
    def coerce(cls, problem: Problem | Mapping[str, Any]) -> Problem:
        """Return ``problem`` as a :class:`Problem`, parsing it when it is a mapping."""
        return problem if isinstance(problem, Problem) else cls.from_dict(problem)

    # -- derived facts --------------------------------------------------------------------------

    def meeting(self, meeting_id: str) -> Meeting:
        """Return the meeting with this id (``KeyError`` when unknown)."""
        return self.meetings[self._index[meeting_id]]

    def meeting_index(self, meeting_id: str) -> int:
        """Return the position of a meeting in :attr:`meetings`."""
        return self._index[meeting_id]

    def has_meeting(self, meeting_id: str) -> bool:
        """Tell whether a meeting id is listed."""
        return meeting_id in self._index

    def participant_map(self) -> dict[str, Participant]:
        """Map participant ids to participants."""
        return {p.id: p for p in self.participants}

    def window_slots(self, window: str) -> range:
        """Return the slots a window allows (all slots without ``morning_slots``)."""
        if self.morning_slots and window == "morning":
            return range(1, min(self.morning_slots, self.slots) + 1)
        if self.morning_slots and window == "afternoon":
            return range(self.morning_slots + 1, self.slots + 1)
        return range(1, self.slots + 1)

    def eligible(self) -> set[str]:
        """Return participants whose best candidate reaches the fairness threshold."""
        thr = self.fairness_threshold
        if thr is None:
            return set()
        return {q for m in self.meetings if m.score >= thr for q in (m.a, m.b)}

    def domain(self, m: Meeting, parts: Mapping[str, Participant] | None = None) -> list[int]:
        """Return the slots where a meeting may take place, ignoring other meetings.

        Parameters
        ----------
        m : Meeting
        parts : mapping, optional
            Participant lookup (pass it when calling in a loop).

        Returns
        -------
        list of int
            Sorted slots allowed by the window, the fixed slot and both sides' availability.
        """
        parts = parts if parts is not None else self.participant_map()
        if m.a == m.b:
            return []
        blocked = parts[m.a].unavailable | parts[m.b].unavailable
        slots: Iterable[int] = self.window_slots(m.window)
        if m.fixed_slot is not None:
            slots = [m.fixed_slot] if m.fixed_slot in slots else []
        return [s for s in slots if s not in blocked]

    def score_int(self, m: Meeting) -> int:
        """Return a meeting's score as an integer (see :data:`SCORE_SCALE`)."""
        return round(m.score * SCORE_SCALE)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of the problem."""
        out: dict[str, Any] = {"slots": self.slots, "tables": self.tables}
        if self.morning_slots is not None:
            out["morning_slots"] = self.morning_slots
        if self.fairness_threshold is not None:
            out["fairness_threshold"] = self.fairness_threshold
        out["participants"] = [
            {
                "id": p.id,
                **({"side": p.side} if p.side else {}),
                **({"max_meetings": p.max_meetings} if p.max_meetings is not None else {}),
                "unavailable": sorted(p.unavailable),
            }
            for p in self.participants
        ]
        out["meetings"] = [
            {
                "id": m.id,
                "a": m.a,
                "b": m.b,
                "score": m.score,
                "required": m.required,
                "window": m.window,
                "fixed_slot": m.fixed_slot,
                **({"after": list(m.after)} if m.after else {}),
            }
            for m in self.meetings
        ]
        return out
