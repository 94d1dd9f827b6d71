"""German/English directory search: the query's words and thesaurus concepts against an index.

Every profile's words are kept in a small inverted index (``search_words`` and
``profile_words``): its folded words, and the thesaurus concepts its texts mention, found
the way the matching engine finds them (``matchmaker.language``: phrases such as "vorausschauende
Wartung", words and their stems such as "Buchführung", compound parts such as
"Eingangs|rechnungen"). A concept is stored as a word of its own, ``#`` and its id
("#bookkeeping"), which no folded word can be. Each posting carries the weight of the field
it was found in: :data:`TITLE` for the profile's name and its solutions' titles, :data:`BODY`
elsewhere.

A query becomes a few :class:`QueryGroup` s: a thesaurus phrase, or one word. A word is stemmed
with the German Snowball stemmer and matched as a substring of the indexed words, so "Rechnung"
finds "Rechnungen" and "Eingangsrechnungen", and "Buchhaltung" finds "Buchhaltungssoftware";
very short words (KI, IT, OCR) must match whole words. A group matches a profile that mentions
one of its concepts or contains all of its words; every group must match.
"""

import functools
import re
from dataclasses import dataclass

from matchmaker.language.concepts import packaged_finder
from matchmaker.language.text import fold

WORD_RE = re.compile(r"[0-9a-z]+")
MAX_WORD_LENGTH = 80
MIN_SUBSTRING_LENGTH = 4
MAX_QUERY_GROUPS = 8
CONCEPT_MARK = "#"
TITLE = 2  # weight of a posting from a profile's name or a solution's title
BODY = 1  # weight of a posting from any other text

QUERY_STOP_WORDS = frozenset(
    (
        "der die das den dem des ein eine einer eines einem einen und oder mit fur von zu im in "
        "am an auf aus bei nach uber unter vor wir ihr sie es ist sind the a an and or of for to "
        "with on at by from is are"
    ).split()
)


@dataclass(frozen=True)
class QueryGroup:
    """One unit of a query: it matches a profile naming one of ``concepts`` or having all ``words``.

    ``words`` are search terms (stems, matched as substrings when long enough); ``concepts``
    are concept terms (``#id``) as stored in the index.
    """

    words: tuple[str, ...]
    concepts: tuple[str, ...]


def words_of(text: str) -> list[str]:
    """Return the folded words of a text, in order."""
    return WORD_RE.findall(fold(text))


def concept_term(concept_id: str) -> str:
    """Return the index word that stands for a thesaurus concept."""
    return CONCEPT_MARK + concept_id


def is_concept_term(word: str) -> bool:
    """Tell whether an indexed word stands for a concept."""
    return word.startswith(CONCEPT_MARK)


def index_terms(texts: list[tuple[str, int]]) -> dict[str, int]:
    """Return the index words of weighted texts (words and concepts), each with its top weight."""
    finder = packaged_finder()
    terms: dict[str, int] = {}
    for text, weight in texts:
        if not text:
            continue
        words = words_of(text)
        found = [w for w in words if len(w) <= MAX_WORD_LENGTH]
        found += map(concept_term, finder.concepts(words, QUERY_STOP_WORDS))
        for term in found:
            if terms.get(term, 0) < weight:
                terms[term] = weight
    return terms


@functools.lru_cache(maxsize=4096)
def _search_term(word: str) -> str:
    stem = packaged_finder().analyse_word(word)[0] if len(word) >= MIN_SUBSTRING_LENGTH else word
    # Snowball can cut deep ("sicherheit" -> "sich"); keep enough of the word
    # that the substring match stays specific.
    keep = max(MIN_SUBSTRING_LENGTH, -(-len(word) * 3 // 5))
    if len(stem) < keep <= len(word):
        stem = word[:keep] if word.startswith(stem) else stem
    return stem


@functools.lru_cache(maxsize=1024)
def query_groups(query: str) -> tuple[QueryGroup, ...]:
    """Turn a free-text query into search groups (phrases and words, at most a few)."""
    words = words_of(query)
    mentions = {m.start: m for m in packaged_finder().mentions(words, QUERY_STOP_WORDS)}
    groups: list[QueryGroup] = []
    position = 0
    while position < len(words):
        mention = mentions.get(position)
        end = mention.end if mention is not None else position + 1
        terms = tuple(
            dict.fromkeys(_search_term(w) for w in words[position:end] if w not in QUERY_STOP_WORDS)
        )
        concepts = tuple(sorted(map(concept_term, mention.concepts))) if mention else ()
        group = QueryGroup(terms, concepts)
        if (terms or concepts) and group not in groups:
            groups.append(group)
        position = end
    return tuple(groups[:MAX_QUERY_GROUPS])


def is_substring_term(term: str) -> bool:
    """Tell whether a term may match inside longer words (compounds)."""
    return len(term) >= MIN_SUBSTRING_LENGTH and not is_concept_term(term)
