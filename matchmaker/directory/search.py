"""German-aware directory search: fold and stem the query, match words by substring.

Every profile's words are kept in a small inverted index (``search_words`` and
``profile_words``). A query word is stemmed with the German Snowball stemmer and
then matched as a substring of the indexed words, so "Rechnung" finds
"Rechnungen" and "Eingangsrechnungen", and "Buchhaltung" finds
"Buchhaltungssoftware". Very short words (KI, IT, OCR) must match whole words.
"""

import re
from functools import lru_cache

import Stemmer

FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e", "è": "e"})
WORD_RE = re.compile(r"[0-9a-z]+")
MAX_WORD_LENGTH = 80
MIN_SUBSTRING_LENGTH = 4
MAX_QUERY_TERMS = 8

QUERY_STOP_WORDS = frozenset(
    (
        "der die das den dem des ein eine einer eines einem einen und oder mit fur von zu im in "
        "am an auf aus bei nach uber unter vor wir ihr sie es ist sind the a an and or of for to "
        "with on at by from is are"
    ).split()
)

_german = Stemmer.Stemmer("german")


def fold(text: str) -> str:
    """Lower-case and fold umlauts the way the German Snowball stemmer does."""
    return text.lower().translate(FOLD)


def index_words(*texts: str) -> set[str]:
    """Return the distinct folded words of the texts, for the search index."""
    words: set[str] = set()
    for text in texts:
        if text:
            words.update(w for w in WORD_RE.findall(fold(text)) if len(w) <= MAX_WORD_LENGTH)
    return words


@lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    return _german.stemWord(word)


def query_terms(query: str) -> list[str]:
    """Turn a free-text query into stemmed, folded search terms (at most a few)."""
    terms: list[str] = []
    for word in WORD_RE.findall(fold(query)):
        if word in QUERY_STOP_WORDS:
            continue
        stem = _stem(word) if len(word) >= MIN_SUBSTRING_LENGTH else word
        # Snowball can cut deep ("sicherheit" -> "sich"); keep enough of the word
        # that the substring match stays specific.
        keep = max(MIN_SUBSTRING_LENGTH, -(-len(word) * 3 // 5))
        if len(stem) < keep <= len(word):
            stem = word[:keep] if word.startswith(stem) else stem
        if stem not in terms:
            terms.append(stem)
    return terms[:MAX_QUERY_TERMS]


def is_substring_term(term: str) -> bool:
    """Tell whether a term may match inside longer words (compounds)."""
    return len(term) >= MIN_SUBSTRING_LENGTH
