"""German and English text analysis shared by matching and directory search (pure: no Flask).

Modules
-------
``text``       tokens, folding, stop words, Snowball stems, compound parts (``Lexicon``)
``thesaurus``  the bilingual concept thesaurus and its data file ``thesaurus.txt``
``concepts``   the thesaurus's concepts in a sequence of words (phrases, words, compounds)

The matching engine (``matchmaker.matching.engine``) builds its features from ``text`` and
``thesaurus``; the directory's search index (``matchmaker.directory.search``) stores the concepts
``concepts`` finds, so both understand the same words.
"""
