"""Thesaurus concepts in a sequence of words: multi-word phrases first, then single words.

Directory search uses this on both sides, the profiles' texts and the query, so "Buchführung"
and "Buchhaltung", "Cybersecurity" and "IT-Sicherheit", "predictive maintenance" and
"vorausschauende Wartung" meet in the same concept. Words are looked up exactly as the matching
engine's lexicon does (:meth:`~matchmaker.language.thesaurus.Thesaurus.match_token`: the
folded word, its German and English Snowball stems, and compound parts), phrases by their German
stems (:attr:`~matchmaker.language.thesaurus.Thesaurus.phrases`).  Cue-gated groups ("Personal"
is a shortage only next to "fehlt") need a sentence around the word, which a search query does
not have: they are left out here.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass

import Stemmer

from matchmaker.language.thesaurus import Thesaurus, load_cached

__all__ = ["ConceptFinder", "Mention", "packaged_finder"]

TOKEN_CACHE_SIZE = 1 << 16


@dataclass(frozen=True)
class Mention:
    """Concepts named by the words ``start:end`` of a word sequence (a phrase if longer than 1)."""

    start: int
    end: int
    concepts: frozenset[str]


class ConceptFinder:
    """Find the concepts of a thesaurus in folded words, caching the analysis of each word."""

    def __init__(self, thesaurus: Thesaurus):
        self.thesaurus = thesaurus
        self._de = Stemmer.Stemmer("german")
        self._en = Stemmer.Stemmer("english")
        self._phrase_starts = frozenset(key[0] for key in thesaurus.phrases)
        self.analyse_word = functools.lru_cache(maxsize=TOKEN_CACHE_SIZE)(self._analyse_word)

    def _analyse_word(self, word: str) -> tuple[str, frozenset[str]]:
        """Return the German stem of a folded word and the concepts the word itself names."""
        de = self._de.stemWord(word)
        matches = self.thesaurus.match_token(word, de, self._en.stemWord(word))
        return de, frozenset(
            self.thesaurus.ids[c] for c, _, _ in matches if not self.thesaurus.gated[c]
        )

    def mentions(self, words: list[str], skip: Collection[str] = ()) -> list[Mention]:
        """Return the concept mentions in folded words, in order, longest phrases first.

        A word inside a phrase counts for the phrase only, as in the matching engine; words in
        ``skip`` (stop words) name no concept on their own but may be part of a phrase.
        """
        analysed = [self.analyse_word(w) for w in words]
        stems = [stem for stem, _ in analysed]
        phrases = self.thesaurus.phrases
        in_phrase: dict[int, Mention] = {}
        starts = [i for i, stem in enumerate(stems) if stem in self._phrase_starts]
        for size in range(self.thesaurus.longest_phrase, 1, -1) if starts else ():
            for i in starts:
                end = i + size
                if end > len(words) or any(q in in_phrase for q in range(i, end)):
                    continue
                concepts = [
                    c for c in phrases.get(tuple(stems[i:end]), ()) if not self.thesaurus.gated[c]
                ]
                if concepts:
                    ids = frozenset(self.thesaurus.ids[c] for c in concepts)
                    mention = Mention(i, end, ids)
                    for q in range(i, end):
                        in_phrase[q] = mention
        found: list[Mention] = []
        for i, (word, (_, concepts)) in enumerate(zip(words, analysed, strict=True)):
            mention = in_phrase.get(i)
            if mention is not None:
                if mention.start == i:
                    found.append(mention)
            elif concepts and word not in skip:
                found.append(Mention(i, i + 1, concepts))
        return found

    def concepts(self, words: list[str], skip: Collection[str] = ()) -> set[str]:
        """Return the ids of every concept the folded words mention."""
        return {c for mention in self.mentions(words, skip) for c in mention.concepts}


@functools.lru_cache(maxsize=1)
def packaged_finder() -> ConceptFinder:
    """Return the finder of the packaged thesaurus (built once per process)."""
    return ConceptFinder(load_cached(None))
