"""Text analysis: tokens, folding, stop words, Snowball stems (German and English), compounds.

Everything expensive works on the *vocabulary* (each distinct token once), never on every token
occurrence: the engine turns texts into token counts and multiplies those with per-token feature
matrices.  German and English are handled together: tokens are folded (lower case, umlauts and ß
folded), stemmed with the Snowball German *and* English stemmers, split into compound parts
against the known vocabulary, and looked up in the concept thesaurus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import Stemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

if TYPE_CHECKING:
    from matchmaker.language.thesaurus import Thesaurus

__all__ = ["STOP_WORDS", "Lexicon", "fold", "tokenize", "tokenize_spans"]

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


def is_compound_rest(rest: str) -> bool:
    """Tell whether ``rest`` can be a further compound part, after an optional linking element."""
    if len(rest) >= 5:
        return True
    return any(rest.startswith(fuge) and len(rest) - len(fuge) >= 5 for fuge in FUGEN)


# ------------------------------------------------------------------------------ lexicon


class Lexicon:
    """Per-token analysis (folding, stop words, stems, compound parts, concepts).

    Tokens are analysed once when first added; the engine builds its feature matrices from the
    arrays kept here, indexed by token id.  A fitted engine never adds to its own lexicon: new
    texts are analysed in a :meth:`copy`.
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
        self.cues: list[list[int]] = []  # cue-gated concepts this token is a cue for
        self.parts: list[list[str]] = []
        self.known: set[str] = set(thesaurus.split_parts)

    def __getstate__(self) -> dict:
        # Snowball stemmers are C objects without pickle support; they are rebuilt on load
        return {k: v for k, v in vars(self).items() if k not in ("_de", "_en")}

    def __setstate__(self, state: dict) -> None:
        # a lexicon stored before cue-gated groups: no token is a cue
        state.setdefault("cues", [[] for _ in state["tokens"]])
        vars(self).update(state)
        self._de = Stemmer.Stemmer("german")
        self._en = Stemmer.Stemmer("english")

    def copy(self) -> Lexicon:
        """Return an independent copy, so analysing new texts leaves this lexicon unchanged."""
        other = Lexicon.__new__(Lexicon)
        other.thesaurus, other._de, other._en = self.thesaurus, self._de, self._en
        other.ids = dict(self.ids)
        for name in ("tokens", "folded", "stop", "de_stem", "en_stem", "concepts", "cues", "parts"):
            setattr(other, name, list(getattr(self, name)))
        other.known = set(self.known)
        return other

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
            # stop words too: "fehlt" or "suchen" carry no concept, but may be a cue
            self.cues.append(self.thesaurus.match_cues(f, d, e))
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
