"""Bilingual concept thesaurus: parse the data file and match tokens, compound parts and phrases.

The packaged data (``thesaurus.txt`` next to this module) describes its format in its header;
organisers extend it without code.  :class:`Thesaurus` compiles the groups into lookup tables
that :class:`~matchmaker.language.text.Lexicon` queries once per distinct token.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import Stemmer

from matchmaker.language.text import (
    INFLECTIONS,
    MIN_PART,
    SHORT_MODIFIERS,
    TOKEN_RE,
    fold,
    is_compound_rest,
)

__all__ = [
    "CATEGORY_CODES",
    "ROLES",
    "ConceptGroup",
    "Thesaurus",
    "load_cached",
    "load_thesaurus",
    "parse_text",
]

CATEGORY_CODES: tuple[str, ...] = (
    "bookkeeping",
    "it_security",
    "predictive_maintenance",
    "energy_forecasting",
    "document_processing",
    "customer_service",
    "quality_inspection",
    "media_content",
    "translation",
    "hr",
    "logistics",
    "public_administration",
    "agri_environment",
    "sales_marketing",
    "knowledge_search",
    "process_automation",
    "data_analytics",
    "legal_compliance",
    "health_care",
    "training",
)


# what a concept says about a profile: a task or need ("need", the default) or the trade a firm
# is in or serves ("trade": bakery, hotel, farm); matching ranks by needs, the trade breaks ties
ROLES = ("need", "trade")


@dataclass
class ConceptGroup:
    """One concept of the thesaurus with its terms and metadata."""

    id: str
    label: str = ""
    categories: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()
    weight: float = 1.0
    role: str = "need"
    terms_de: list[str] = field(default_factory=list)
    terms_en: list[str] = field(default_factory=list)
    # the group's terms count only in a sentence that also has one of these words
    cues: list[str] = field(default_factory=list)


def _split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_text(text: str) -> list[dict]:
    groups: list[dict] = []
    current: dict | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^\[([A-Za-z0-9_]+)\]\s*(.*)$", line)
        if m:
            current = {"id": m.group(1), "label": m.group(2).strip()}
            groups.append(current)
            continue
        key, sep, value = line.partition(":")
        if not sep or current is None:
            raise ValueError(f"thesaurus line {lineno}: expected '[id]' or 'key: value': {raw!r}")
        key = key.strip().lower()
        if key == "weight":
            current["weight"] = float(value)
        elif key == "role":
            current["role"] = value.strip().lower()
        elif key in {"categories", "broader", "de", "en", "cues"}:
            current.setdefault(key, []).extend(_split_list(value))
        else:
            raise ValueError(f"thesaurus line {lineno}: unknown key {key!r}")
    return groups


def _read_groups(source: str | Path | Mapping | Iterable) -> list[dict]:
    if isinstance(source, Mapping):
        data = source.get("groups", source)
        if isinstance(data, Mapping):  # {"id": {...}} form
            return [{"id": k, **v} for k, v in data.items()]
        return list(data)
    if isinstance(source, (str, Path)):
        path = Path(source)
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            return _read_groups(json.loads(text))
        return parse_text(text)
    return list(source)


def load_thesaurus(*sources: str | Path | Mapping | Iterable | None) -> Thesaurus:
    """Load and merge thesaurus sources; later sources extend or override earlier groups.

    A source is a path (``.txt`` in the documented format or ``.json``), a mapping with a
    ``groups`` list, or a list of group dicts (keys ``id``, ``label``, ``categories``,
    ``broader``, ``weight``, ``de``, ``en``).  ``None`` stands for the packaged thesaurus.
    """
    merged: dict[str, ConceptGroup] = {}
    for source in sources:
        if source is None:
            source = resources.files("matchmaker.language").joinpath("thesaurus.txt")
            groups = parse_text(source.read_text(encoding="utf-8"))
        else:
            groups = _read_groups(source)
        for g in groups:
            gid = str(g["id"])
            grp = merged.setdefault(gid, ConceptGroup(id=gid))
            if g.get("label"):
                grp.label = str(g["label"])
            if "categories" in g:
                cats = tuple(g["categories"])
                unknown = set(cats) - set(CATEGORY_CODES)
                if unknown:
                    raise ValueError(f"thesaurus group {gid}: unknown categories {unknown}")
                grp.categories = cats
            if "broader" in g:
                grp.broader = tuple(g["broader"])
            if "weight" in g:
                grp.weight = float(g["weight"])
            if "role" in g:
                role = str(g["role"])
                if role not in ROLES:
                    raise ValueError(f"thesaurus group {gid}: role must be one of {ROLES}")
                grp.role = role
            grp.terms_de.extend(g.get("de", ()))
            grp.terms_en.extend(g.get("en", ()))
            grp.cues.extend(g.get("cues", ()))
    return Thesaurus([g for g in merged.values() if g.weight > 0])


class Thesaurus:
    """Bilingual concept groups compiled into lookup tables for token and phrase matching."""

    def __init__(self, groups: list[ConceptGroup]):
        self.groups = groups
        self.ids = [g.id for g in groups]
        self.index = {g.id: i for i, g in enumerate(groups)}
        for g in groups:
            missing = [b for b in g.broader if b not in self.index]
            if missing:
                raise ValueError(f"thesaurus group {g.id}: unknown broader concepts {missing}")
        self.weights = [g.weight for g in groups]
        self.trade = [g.role == "trade" for g in groups]
        self.labels = [g.label or g.id for g in groups]
        self._de = Stemmer.Stemmer("german")
        self._en = Stemmer.Stemmer("english")
        # whole-token keys: ("f", folded) / ("d", German stem) / ("e", English stem)
        self.whole: dict[tuple[str, str], set[int]] = {}
        # compound parts: folded surface -> [(concept, mode)], mode in {"any", "pre", "suf"}
        self.parts: dict[str, list[tuple[int, str]]] = {}
        # phrases: tuple of German stems -> concepts
        self.phrases: dict[tuple[str, ...], set[int]] = {}
        self.longest_phrase = 1
        for ci, g in enumerate(groups):
            for term in g.terms_de:
                self._add_term(ci, term, "de")
            for term in g.terms_en:
                self._add_term(ci, term, "en")
        # groups whose terms need a cue word in the same sentence ("Personal" is a shortage
        # only next to "finden", "fehlt", "Mangel"): their cues, compiled like terms of both
        # languages, in a table of their own
        self.gated = [bool(g.cues) for g in groups]
        # compound parts that split words: a cue-gated group's words ("Maler", "Energie")
        # only count next to a cue, so they do not change how other words are split
        self.split_parts = {
            part
            for part, entries in self.parts.items()
            if any(not self.gated[ci] for ci, _ in entries)
        }
        self.cued_ids = [ci for ci, g in enumerate(groups) if g.cues]
        self.cue_table = (
            Thesaurus(
                [
                    ConceptGroup(
                        id=groups[ci].id, terms_de=groups[ci].cues, terms_en=groups[ci].cues
                    )
                    for ci in self.cued_ids
                ]
            )
            if self.cued_ids
            else None
        )

    def __getstate__(self) -> dict:
        # Snowball stemmers are C objects without pickle support; they are rebuilt on load
        return {k: v for k, v in vars(self).items() if k not in ("_de", "_en")}

    def __setstate__(self, state: dict) -> None:
        # a thesaurus stored before roles existed: its groups read the class default ("need");
        # one stored before cue-gated groups has none
        state.setdefault("trade", [g.role == "trade" for g in state["groups"]])
        state.setdefault("gated", [False] * len(state["groups"]))
        state.setdefault("cued_ids", [])
        state.setdefault("cue_table", None)
        state.setdefault("split_parts", set(state["parts"]))
        vars(self).update(state)
        self._de = Stemmer.Stemmer("german")
        self._en = Stemmer.Stemmer("english")

    def _add_term(self, ci: int, term: str, lang: str) -> None:
        mode = "any"
        term = term.strip()
        if term.startswith("="):
            mode, term = "exact", term[1:]
        elif term.startswith("-"):
            mode, term = "suf", term[1:]
        elif term.endswith("-"):
            mode, term = "pre", term[:-1]
        tokens = [fold(t) for t in TOKEN_RE.findall(term)]
        if not tokens:
            return
        if len(tokens) > 1:
            key = tuple(self._de.stemWords(tokens))
            self.phrases.setdefault(key, set()).add(ci)
            self.longest_phrase = max(self.longest_phrase, len(key))
            return
        tok = tokens[0]
        abbreviation = term.isupper() or len(tok) < 3 or any(ch.isdigit() for ch in tok)
        self.whole.setdefault(("f", tok), set()).add(ci)
        if abbreviation:
            return
        if mode in {"any", "exact"}:
            stem = (self._de if lang == "de" else self._en).stemWord(tok)
            # an over-stemmed term ("digitisation" -> "digit") would match unrelated words
            # ("tagging" -> "tag" would match the German "Tag")
            if len(stem) >= 3 and len(stem) >= len(tok) - 4:
                self.whole.setdefault(("d" if lang == "de" else "e", stem), set()).add(ci)
        if lang == "de" and mode != "exact" and len(tok) >= MIN_PART:
            self.parts.setdefault(tok, []).append((ci, mode))

    # -- token level

    def match_cues(self, tok: str, de_stem: str, en_stem: str) -> list[int]:
        """Return the cue-gated concepts for which this folded token is a cue word."""
        if self.cue_table is None:
            return []
        found = self.cue_table.match_token(tok, de_stem, en_stem)
        return sorted({self.cued_ids[c] for c, _, _ in found})

    def match_token(self, tok: str, de_stem: str, en_stem: str) -> list[tuple[int, int, int]]:
        """Return (concept, start, end) matches inside one folded token.

        Whole-word matches (surface or stem) win; otherwise compound parts are searched,
        longest first and non-overlapping.  Typos are left to the character n-grams: a one-edit
        match of the thesaurus also joined different words ("verkaufen" and "Verkäufer").
        """
        found: set[int] = set()
        for key in (("f", tok), ("d", de_stem), ("e", en_stem)):
            found |= self.whole.get(key, set())
        if found:
            return [(c, 0, len(tok)) for c in sorted(found)]
        n = len(tok)
        if n < 6 or tok.isdigit():
            return []
        candidates: list[tuple[int, int, int]] = []
        for i in range(n - MIN_PART + 1):
            prefix = tok[:i]
            if i and not (len(prefix) >= MIN_PART or prefix in SHORT_MODIFIERS):
                continue
            for j in range(n, i + MIN_PART - 1, -1):
                entries = self.parts.get(tok[i:j])
                if not entries:
                    continue
                rest = tok[j:]
                at_end = rest in INFLECTIONS
                if not at_end and not is_compound_rest(rest):
                    continue
                for ci, mode in entries:
                    if mode == "suf" and not (i and at_end):
                        continue
                    if mode == "pre" and not (i == 0 and not at_end):
                        continue
                    candidates.append((ci, i, j))
        if candidates:
            chosen: list[tuple[int, int, int]] = []
            taken: list[tuple[int, int]] = []
            for ci, i, j in sorted(candidates, key=lambda c: (c[1] - c[2], c[1], c[0])):
                if any(i < tj and si < j for si, tj in taken) and not any(
                    (i, j) == span for span in taken
                ):
                    continue
                chosen.append((ci, i, j))
                taken.append((i, j))
            return chosen
        return []


@functools.lru_cache(maxsize=16)
def _load_paths(key: tuple) -> Thesaurus:
    return load_thesaurus(*(None if k is None else k[0] for k in key))


def load_cached(*sources) -> Thesaurus:
    """Load a thesaurus; files are parsed once per path and modification time (refits reuse it)."""
    if all(s is None or isinstance(s, (str, Path)) for s in sources):
        key = tuple(None if s is None else (str(s), Path(s).stat().st_mtime_ns) for s in sources)
        return _load_paths(key)
    return load_thesaurus(*sources)
