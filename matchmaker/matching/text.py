"""Text analysis for the matching engine: tokens, stop words, stems, compounds, thesaurus.

Everything expensive works on the *vocabulary* (each distinct token once), never on every token
occurrence: the engine turns texts into token counts and multiplies those with per-token feature
matrices built here.  German and English are handled together: tokens are folded (lower case,
umlauts and ß folded), stemmed with the Snowball German *and* English stemmers, split into compound
parts against the known vocabulary, and matched against a bilingual concept thesaurus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import Stemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

__all__ = [
    "CATEGORY_CODES",
    "Lexicon",
    "Thesaurus",
    "fold",
    "load_thesaurus",
    "tokenize",
    "tokenize_spans",
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

TOKEN_RE = re.compile(r"[^\W_]+")
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e", "è": "e", "á": "a"})

# German inflection endings that may follow a word inside a token ("Rechnung|en").
INFLECTIONS = frozenset({"", "e", "en", "n", "s", "es", "er", "ern", "ens", "ns", "em"})
# Linking elements between the parts of a German compound ("Eingang|s|rechnung").
FUGEN = ("s", "es", "n", "en", "e", "er", "ns")
# Short modifiers that may start a compound although they have fewer than four letters.
SHORT_MODIFIERS = frozenset(
    {
        "bau",
        "amt",
        "gas",
        "bus",
        "zug",
        "not",
        "see",
        "rad",
        "ort",
        "lkw",
        "kfz",
        "pkw",
        "oko",
        "bio",
        "neu",
        "alt",
        "tag",
        "weg",
        "hof",
        "ton",
        "ol",
        "eu",
        "co2",
        "pv",
        "ki",
        "it",
        "e",
    }
)
MIN_PART = 4

_GERMAN_STOP = """
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
anderm andern anderr anders auch auf aus bei beim bin bis bist da dabei dadurch dafur dagegen
daher dahin damals damit danach daneben dann daran darauf daraus darf darfst darin darum darunter
das dass dasselbe dazu dein deine deinem deinen deiner deines dem demselben den denen denn
denselben der derer derselbe derselben des deshalb desselben dessen dich die dies diese dieselbe
dieselben diesem diesen dieser dieses dir doch dort du durch ein eine einem einen einer eines
einig einige einigem einigen einiger einiges einmal er es etwas euch euer eure eurem euren eurer
eures fur gegen gewesen hab habe haben hat hatte hatten hattest hattet hier hin hinter ich ihm
ihn ihnen ihr ihre ihrem ihren ihrer ihres im in indem ins ist jede jedem jeden jeder jedes jene
jenem jenen jener jenes jetzt kann kannst konnen konnt konnte konnten machen macht mein meine
meinem meinen meiner meines mich mir mit muss musst musste mussen nach nachdem nein nicht nichts
noch nun nur ob oder ohne sehr sein seine seinem seinen seiner seines selbst sich sie sind so
solche solchem solchen solcher solches soll sollen sollte sollten sondern sonst uber um und uns
unser unsere unserem unseren unserer unseres unter viel vom von vor wahrend war waren warst was
weg weil weiter welche welchem welchen welcher welches wenn werde werden wie wieder will wir wird
wirst wo wollen wollte wollten wurde wurden zu zum zur zwar zwischen etwa rund bereits immer
schon heute derzeit aktuell zudem sowie sowohl weder jedoch ganz gibt geht gehen kommt kommen
lasst lassen wurden mochten mochte brauchen braucht benotigen benotigt suchen sucht gerne
mehr mehrere viele vielen wenig wenige weniger moglichst besser bessere besseren gut gute guten
neue neuen neuer neues eigene eigenen eigenes ersten zweitens drittens erstens ausserdem dafur
stark starke oft haufig regelmassig teilweise zeit zeitaufwendig jahr jahre jahren monat monate
woche wochen tag tage tagen stunde stunden mal euro prozent pro ca bzw usw zb inkl dh ggf
uberall bisher kunftig kunftige zukunftig bislang wegen trotz per via je wer wem wen
kein keine keinen keinem keiner keines direkt
"""

_ENGLISH_EXTRA = """
want wants need needs needed looking look like would could should also us our we ca etc via
per new better many much several every day days week weeks year years month months time times
easy easily fast quickly lot lots currently today still already often
"""

# Generic business filler that every profile uses; it carries no evidence about the use case.
_FILLER = """
daten data datenbasiert datengetrieben losung losungen solution solutions digital digitale
digitalen digitaler digitales digitalisierung digitalisieren digitalization digitalisation
prozess prozesse prozessen process processes unternehmen unternehmens company companies firma
firmen betrieb betriebe betrieben business businesses ki ai kunstliche intelligenz artificial
intelligence system systeme systemen plattform platform software tool tools anwendung
anwendungen application applications einsatz einsetzen nutzen nutzt nutzung use uses using used
helfen hilft unterstutzen unterstutzt unterstutzung help helps helping support supports bieten
bietet anbieten offer offers offering provide provides providing deliver delivers basierend
basiert based mithilfe innovative innovativ innovativen intelligent intelligente intelligenten
smart smarte modern moderne modernen effizient effizienter effizienz efficient efficiency
einfach einfache schnell schneller automatisch automatische automatischen automatisiert
automatically automated
mitarbeitende mitarbeiter mitarbeiterinnen employees staff team teams kunde kunden customer
customers partner partnern bereich bereiche thema themen moglichkeit moglichkeiten
herausforderung herausforderungen challenge challenges problem probleme aufgabe aufgaben task
tasks arbeit work working wert value mittelstand kmu sme smes startup startups region lausitz
"""

STOP_WORDS: frozenset[str] = frozenset(
    w.translate(_FOLD)
    for w in (
        _GERMAN_STOP.split()
        + _ENGLISH_EXTRA.split()
        + _FILLER.split()
        + [w.lower() for w in ENGLISH_STOP_WORDS]
    )
)


def fold(token: str) -> str:
    """Fold a token: lower case, umlauts and ß replaced, so spelling variants meet."""
    return token.lower().translate(_FOLD)


def tokenize(text: str) -> list[str]:
    """Split a text into lower-case word tokens (hyphens and punctuation separate words)."""
    return TOKEN_RE.findall(text.lower())


def tokenize_spans(text: str) -> list[tuple[str, int, int]]:
    """Split a text into (lower-case token, start, end) with offsets into ``text``."""
    return [(m.group().lower(), m.start(), m.end()) for m in TOKEN_RE.finditer(text)]


# ------------------------------------------------------------------------------ thesaurus


@dataclass
class ConceptGroup:
    """One concept of the thesaurus with its terms and metadata."""

    id: str
    label: str = ""
    categories: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()
    weight: float = 1.0
    terms_de: list[str] = field(default_factory=list)
    terms_en: list[str] = field(default_factory=list)


def _split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _parse_text_thesaurus(text: str) -> list[dict]:
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
        elif key in {"categories", "broader", "de", "en"}:
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
        return _parse_text_thesaurus(text)
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
            source = resources.files("matchmaker.matching").joinpath("thesaurus.txt")
            groups = _parse_text_thesaurus(source.read_text(encoding="utf-8"))
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
            grp.terms_de.extend(g.get("de", ()))
            grp.terms_en.extend(g.get("en", ()))
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
        self.labels = [g.label or g.id for g in groups]
        self._de = Stemmer.Stemmer("german")
        self._en = Stemmer.Stemmer("english")
        # whole-token keys: ("f", folded) / ("d", German stem) / ("e", English stem)
        self.whole: dict[tuple[str, str], set[int]] = {}
        # compound parts: folded surface -> [(concept, mode)], mode in {"any", "pre", "suf"}
        self.parts: dict[str, list[tuple[int, str]]] = {}
        # phrases: tuple of German stems -> concepts
        self.phrases: dict[tuple[str, ...], set[int]] = {}
        # one-deletion neighbourhood of long terms, for typos
        self.fuzzy: dict[str, set[int]] = {}
        self.longest_phrase = 1
        for ci, g in enumerate(groups):
            for term in g.terms_de:
                self._add_term(ci, term, "de")
            for term in g.terms_en:
                self._add_term(ci, term, "en")

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
            if len(stem) >= 3 and len(stem) >= len(tok) - 4:
                self.whole.setdefault(("d" if lang == "de" else "e", stem), set()).add(ci)
        if lang == "de" and mode != "exact" and len(tok) >= MIN_PART:
            self.parts.setdefault(tok, []).append((ci, mode))
        if len(tok) >= 8:
            for i in range(len(tok)):
                self.fuzzy.setdefault(tok[:i] + tok[i + 1 :], set()).add(ci)
            self.fuzzy.setdefault(tok, set()).add(ci)

    # -- token level

    def match_token(self, tok: str, de_stem: str, en_stem: str) -> list[tuple[int, int, int]]:
        """Return (concept, start, end) matches inside one folded token.

        Whole-word matches (surface or stem) win; otherwise compound parts are searched,
        longest first and non-overlapping; otherwise a one-edit typo match of a long term.
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
                if not at_end and not _is_compound_rest(rest):
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
        if n >= 8:
            hits = set(self.fuzzy.get(tok, ()))
            for i in range(n):
                hits |= self.fuzzy.get(tok[:i] + tok[i + 1 :], set())
            return [(c, 0, n) for c in sorted(hits)]
        return []


def _is_compound_rest(rest: str) -> bool:
    """Tell whether ``rest`` can be a further compound part, after an optional linking element."""
    if len(rest) >= 5:
        return True
    return any(rest.startswith(fuge) and len(rest) - len(fuge) >= 5 for fuge in FUGEN)


# ------------------------------------------------------------------------------ lexicon


class Lexicon:
    """Per-token analysis (folding, stop words, stems, compound parts, concepts), cached.

    Tokens are analysed once when first seen; the engine builds its feature matrices from the
    arrays kept here, indexed by token id.
    """

    def __init__(self, thesaurus: Thesaurus):
        self.thesaurus = thesaurus
        self._de = Stemmer.Stemmer("german")
        self._en = Stemmer.Stemmer("english")
        self.ids: dict[str, int] = {}
        self.tokens: list[str] = []
        self.folded: list[str] = []
        self.stop: list[bool] = []
        self.de_stem: list[str] = []
        self.en_stem: list[str] = []
        self.concepts: list[list[tuple[int, int, int]]] = []
        self.parts: list[list[str]] = []
        self.known: set[str] = set(thesaurus.parts)

    def add(self, tokens: Iterable[str]) -> None:
        """Analyse tokens not seen before (in one batch, stemming each distinct token once)."""
        new = [t for t in dict.fromkeys(tokens) if t not in self.ids]
        if not new:
            return
        folded = [fold(t) for t in new]
        de = self._de.stemWords(folded)
        en = self._en.stemWords(folded)
        for tok, f, d, e in zip(new, folded, de, en, strict=True):
            self.ids[tok] = len(self.tokens)
            self.tokens.append(tok)
            self.folded.append(f)
            stop = f in STOP_WORDS or len(f) < 2 or f.isdigit()
            self.stop.append(stop)
            self.de_stem.append(d)
            self.en_stem.append(e)
            self.concepts.append(self.thesaurus.match_token(f, d, e))
            if not stop and len(f) >= MIN_PART:
                self.known.add(f)
        self.parts.extend([] for _ in new)

    def split_compounds(self, token_ids: Iterable[int]) -> None:
        """Split the given tokens into known compound parts (stored as German stems)."""
        for tid in token_ids:
            if self.stop[tid] or len(self.folded[tid]) < 2 * MIN_PART:
                continue
            parts = _split(self.folded[tid], self.known, depth=2)
            if parts and len(parts) > 1:
                self.parts[tid] = self._de.stemWords(parts)


def _strip_inflection(word: str) -> list[str]:
    out = [word]
    for suffix in ("ern", "en", "er", "es", "e", "n", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_PART:
            out.append(word[: -len(suffix)])
    return out


def _split(word: str, known: set[str], depth: int) -> list[str] | None:
    """Split ``word`` into known parts, preferring the longest head; None if impossible."""
    n = len(word)
    for i in range(MIN_PART, n - MIN_PART + 1):
        head = word[i:]
        if not any(h in known for h in _strip_inflection(head)):
            continue
        mod = word[:i]
        mods = [mod] + [mod[: -len(f)] for f in FUGEN if mod.endswith(f)]
        for m in mods:
            if len(m) < MIN_PART:
                continue
            if m in known:
                return [m, head]
            if depth > 1:
                sub = _split(m, known, depth - 1)
                if sub:
                    return [*sub, head]
    return None
