"""The engine's inputs and outputs: profiles, suggestions, reasons, explanations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["KINDS", "Explanation", "Profile", "Reason", "Span", "Suggestion"]

KINDS = ("sme", "startup")


@dataclass(frozen=True)
class Profile:
    """One SME or startup as the engine sees it."""

    ref: str
    kind: str
    text: str
    name: str = ""
    sector: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


class Reason(str):
    """A shared concept (or stem) as readable text that also knows what it stands for.

    The text reads ``"Label: SME word ↔ startup word"`` for a concept (``"Label: word"`` when both
    sides use the same word), ``"SME word ↔ startup word"`` or ``"word"`` for a shared stem.
    Being a ``str``, a reason prints, joins and serialises like the plain strings it replaces.

    Attributes
    ----------
    concept : str
        Thesaurus concept id, or ``""`` for a shared stem.
    label : str
        The concept's label (German part), or the stem.
    sme_word, startup_word : str
        The words of each side that carry the concept or stem.
    """

    __slots__ = ("concept", "label", "sme_word", "startup_word")

    concept: str
    label: str
    sme_word: str
    startup_word: str

    def __new__(cls, concept: str, label: str, sme_word: str, startup_word: str) -> Reason:
        """Build the reason's text from its parts."""
        same = sme_word.casefold() == startup_word.casefold()
        words = sme_word if same else f"{sme_word} ↔ {startup_word}"
        if concept and not (same and sme_word.casefold() == label.casefold()):
            words = f"{label}: {words}"
        self = super().__new__(cls, words)
        self.concept, self.label = concept, label
        self.sme_word, self.startup_word = sme_word, startup_word
        return self

    def __reduce__(self):
        return (Reason, (self.concept, self.label, self.sme_word, self.startup_word))


class Suggestion(NamedTuple):
    """A suggested profile of the other kind: score, reasons and calibrated level.

    ``level`` is ``"very_good"``, ``"good"``, ``"possible"`` or ``""`` (below every level),
    from the calibration table fitted on labelled pairs (see :mod:`.calibration`).
    """

    ref: str
    score: float
    reasons: tuple[Reason, ...]
    level: str = ""


class Span(NamedTuple):
    """Characters ``[start, end)`` of one field of a profile that carry a shared concept."""

    start: int
    end: int
    label: str
    field: str = "text"


@dataclass(frozen=True)
class Explanation:
    """Why two profiles match: score, level, reasons, and highlight spans in both profiles."""

    ref_a: str
    ref_b: str
    score: float
    reasons: tuple[Reason, ...]
    spans_a: tuple[Span, ...]
    spans_b: tuple[Span, ...]
    shared_categories: tuple[str, ...]
    level: str = ""
