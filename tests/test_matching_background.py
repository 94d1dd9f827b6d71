"""Concept links: a stem that keeps company with a concept in background texts carries a share."""

import pickle

import numpy as np

from matchmaker.language.thesaurus import load_cached
from matchmaker.matching.engine import MatchEngine, Profile
from matchmaker.matching.engine.background import Background, load_texts, resolve

# "Kryptolocker" is no thesaurus term; in these texts it keeps company with ransomware
BACKGROUND_TEXTS = [
    "Ein Kryptolocker hat unsere Server verschlüsselt, die Täter fordern Lösegeld.",
    "Nach dem Kryptolocker-Angriff fehlte uns ein Backup der Kundendaten.",
    "Kryptolocker und andere Ransomware treffen vor allem kleine Betriebe.",
    "Wir spielen nach einem Kryptolocker jede Nacht ein Backup ein.",
    "Unsere Buchhaltung prüft Eingangsrechnungen von Hand.",
    "Die Wartung unserer Maschinen kommt oft zu spät.",
    "Uns fehlen Fachkräfte, Bewerbungen kommen kaum.",
    "Das Telefon klingelt ständig, Kundenanfragen bleiben liegen.",
    "Unsere Touren plant der Disponent jeden Morgen neu.",
    "Die Bäckerei backt zu viel Brot, der Rest wird entsorgt.",
    "Angebote schreiben wir in Word, das dauert Tage.",
    "Der Energieverbrauch der Halle steigt jedes Jahr.",
]
SMES = [
    Profile("locked", "sme", "Ein Kryptolocker legt seit Montag unsere Rechner lahm."),
    Profile("books", "sme", "Unsere Eingangsrechnungen prüfen wir von Hand."),
]
STARTUPS = [
    Profile("backup", "startup", "Schutz vor Ransomware: verschlüsselte Backups für KMU."),
    Profile("invoices", "startup", "Eingangsrechnungen automatisch prüfen und buchen."),
]


def fit(**params) -> MatchEngine:
    return MatchEngine(**params).fit([*SMES, *STARTUPS])


def background() -> Background:
    return Background.from_texts(BACKGROUND_TEXTS, load_cached(None))


def test_a_stem_linked_in_the_background_meets_the_concept():
    linked = fit(background=background())
    alone = fit(background=False)  # the event alone has the word once: no link
    assert linked.concept_links_.nnz > alone.concept_links_.nnz
    gain = linked.score_pair("locked", "backup") - alone.score_pair("locked", "backup")
    assert gain > 0.01
    # the other pairs hardly move: a link adds a share of one concept, nothing else
    for sme, startup in (("books", "invoices"), ("books", "backup")):
        assert abs(linked.score_pair(sme, startup) - alone.score_pair(sme, startup)) < gain


def test_links_never_make_a_reason():
    engine = fit(background=background())
    top = engine.suggest("locked", k=2)
    assert top[0].ref == "backup"
    # no word of the SME carries the ransomware concept itself: no reason names it
    assert not any("Ransomware" in reason for reason in top[0].reasons)


def test_a_new_profile_gets_the_links_of_the_fitted_model():
    engine = fit(background=background())
    new = Profile("new", "sme", "Ein Kryptolocker hat die Praxis-Rechner verschlüsselt.")
    assert engine.score_pair(new, "backup") > fit(background=False).score_pair(new, "backup")
    assert engine.suggest_many([new], k=2)[0] == engine.suggest(new, k=2)


def test_a_stored_model_keeps_its_links():
    engine = fit(background=background())
    loaded = pickle.loads(pickle.dumps(engine))  # noqa: S301 (bytes this test just wrote)
    new = Profile("new", "sme", "Kryptolocker auf dem Server.")
    assert loaded.score_pair(new, "backup") == engine.score_pair(new, "backup")


def test_link_weight_zero_is_the_engine_without_links():
    off = fit(background=background(), link_weight=0.0)
    assert off.concept_links_ is None
    plain = fit(background=False, link_weight=0.0)
    assert np.array_equal(off.X_.toarray(), plain.X_.toarray())


def test_the_packaged_corpus_counts_as_its_texts_analysed_now():
    thesaurus = load_cached(None)
    packaged = resolve(True, thesaurus)
    fresh = Background.from_texts(load_texts(), thesaurus)
    assert len(packaged) == len(fresh) > 500
    assert packaged.words == fresh.words
    assert abs(packaged.counts.tocsr() - fresh.counts.tocsr()).max() < 1e-3
    assert abs(packaged.concepts.tocsr() - fresh.concepts.tocsr()).max() < 1e-3
