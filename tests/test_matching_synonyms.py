"""The German synonym sets (OpenThesaurus) in the stem block of the matching engine."""

import gzip
import importlib.util
import pickle
from pathlib import Path

import pytest

from matchmaker.language.synonyms import PACKAGED, Synonyms, load_synonyms
from matchmaker.matching.engine import MatchEngine, Profile

ROOT = Path(__file__).resolve().parents[1]

SMES = [
    Profile("scarce", "sme", "Die Knappheit bei Verpackungen bremst unseren Versand."),
    Profile("books", "sme", "Wir ertrinken in Papierbelegen der Buchhaltung."),
]
STARTUPS = [
    Profile("supply", "startup", "Wir erkennen eine Unterversorgung mit Verpackungen früh."),
    Profile("backup", "startup", "Schutz vor Ransomware: verschlüsselte Backups für KMU."),
    Profile("invoices", "startup", "Eingangsrechnungen automatisch prüfen und buchen."),
]


def fit(**params) -> MatchEngine:
    return MatchEngine(**params).fit([*SMES, *STARTUPS])


def test_the_packaged_table_loads_with_its_licence_and_maps_engine_stems():
    with gzip.open(PACKAGED, "rt", encoding="utf-8") as fh:
        header = [line for line in fh.read(4000).splitlines() if line.startswith("#")]
    assert any("OpenThesaurus" in line for line in header)
    assert any("GNU Lesser General Public License" in line for line in header)
    synonyms = load_synonyms()
    assert synonyms.n_synsets > 10000
    # "Knappheit" and "Unterversorgung" as the engine stems them share a synset
    shared = set(synonyms.of["knappheit"]) & set(synonyms.of["unterversorg"])
    assert shared


def test_an_ambiguous_stem_is_left_out():
    synonyms = Synonyms([["bank", "sitzbank"], ["bank", "geldinstitut"], ["kredit", "darleh"]])
    words = {"bank": 0, "geldinstitut": 1, "kredit": 2, "other": 3}
    one = synonyms.matrix(words, max_senses=1)
    assert one.shape == (4, 2)  # only the synsets of kept stems get columns
    assert one[0].nnz == 0  # "bank" has two senses
    assert one[1].nnz == 1 and one[2].nnz == 1
    two = synonyms.matrix(words, max_senses=2)
    assert two[0].nnz == 2
    # its one count is spread over its two senses
    assert two[0].sum() == pytest.approx(1.0)
    assert two[1].sum() == pytest.approx(1.0)


def test_synonyms_bring_two_paraphrases_closer_and_rank_them_first():
    with_synonyms, without = fit(), fit(synonym_weight=0.0)
    gain = with_synonyms.score_pair("scarce", "supply") - without.score_pair("scarce", "supply")
    assert gain > 0.02
    assert with_synonyms.suggest("scarce", k=1)[0].ref == "supply"
    # pairs without a shared synset hardly move
    for sme, startup in (("books", "backup"), ("scarce", "backup")):
        assert abs(with_synonyms.score_pair(sme, startup) - without.score_pair(sme, startup)) < gain


def test_synonyms_never_make_a_reason():
    with_synonyms, without = fit(), fit(synonym_weight=0.0)
    for sme in ("scarce", "books"):
        assert [s.reasons for s in with_synonyms.suggest(sme, k=3)] == [
            without.explain(sme, s.ref).reasons for s in with_synonyms.suggest(sme, k=3)
        ]
    top = with_synonyms.suggest("scarce", k=1)[0]
    assert not any("Knappheit" in r or "Unterversorgung" in r for r in top.reasons)


def test_identical_texts_score_as_without_synonyms():
    """Stems and synsets are normalised together: a text still matches itself fully."""
    text = "Knappheit bei Eingangsrechnungen"
    profiles = [Profile("a", "sme", text), Profile("b", "startup", text)]
    engine = MatchEngine().fit(profiles)
    assert engine.synonym_matrix_.nnz > 0
    without = MatchEngine(synonym_weight=0.0).fit(profiles)
    assert engine.score_pair("a", "b") == pytest.approx(without.score_pair("a", "b"), abs=1e-5)
    assert engine.score_pair("a", "b") == pytest.approx(1.0, abs=1e-5)


def test_a_new_profile_gets_the_synonyms_of_the_fitted_model():
    engine = fit()
    new = Profile("new", "sme", "Knappheit an Kartons")
    assert engine.score_pair(new, "supply") > fit(synonym_weight=0.0).score_pair(new, "supply")
    assert engine.suggest_many([new], k=2)[0] == engine.suggest(new, k=2)


def test_a_model_stored_before_the_synonyms_still_scores_new_profiles():
    engine = pickle.loads(pickle.dumps(fit(synonym_weight=0.0)))  # noqa: S301 (own data)
    # what an engine pickled by the previous version lacks
    del engine.synonym_matrix_
    del engine.weights_.synonym_share
    del engine.weights_.idf["synonym"]
    del engine.weights_.weights["synonym"]
    new = Profile("new", "sme", "Knappheit an Kartons")
    assert engine.score_pair(new, "supply") == pytest.approx(
        fit(synonym_weight=0.0).score_pair(new, "supply")
    )


def test_the_builder_keeps_neutral_single_words_only(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "build_synonyms", ROOT / "bench/build_synonyms.py"
    )
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    source = tmp_path / "openthesaurus.txt"
    source.write_text(
        "# OpenThesaurus - German Thesaurus in text format\n"
        "# Automatically generated 2016-04-24 23:01\n"
        "Knappheit;Unterversorgung;Mangelware (ugs.);(knapp) bemessen\n"
        "(sich) kümmern;betreuen\n"
        "Bürokraft;Schreibkraft;Tippse (derb)\n"
        "Fahrzeug;Auto;Wagen;Karre (ugs.);Kutsche (veraltet);Vehikel;Kraftfahrzeug;Kfz;"
        "Automobil;Karosse;Personenkraftwagen;Pkw;Blechkiste;Motorwagen;Kraftwagen\n",
        encoding="utf-8",
    )
    synsets, generated = builder.build(source, max_synset=10)
    assert generated.startswith("Automatically generated 2016-04-24")
    assert ["knappheit", "unterversorg"] in synsets  # not "(knapp) bemessen": a phrase
    assert ["betreu", "kumm"] in synsets  # a reflexive verb is the verb
    flat = {s for syn in synsets for s in syn}
    assert not flat & {"mangelwar", "tipps", "karr", "kutsch"}  # labelled terms are dropped
    assert not any("auto" in syn for syn in synsets)  # more than 10 stems: too loose
