"""Needs before trades: thesaurus roles, the engine's trade weights, common-word collisions."""

import pickle

import pytest

from matchmaker.language.concepts import ConceptFinder
from matchmaker.language.text import fold, tokenize
from matchmaker.language.thesaurus import load_cached, load_thesaurus, parse_text
from matchmaker.matching.engine import MatchEngine, Profile

# a trade ("who") and a need ("what"), isolated from the packaged thesaurus
GROUPS = [
    {"id": "bakery", "role": "trade", "de": ["Bäckerei", "Backstube"]},
    {"id": "staffing", "de": ["Personalvermittlung", "Fachkräftemangel"]},
]
PROFILES = [
    Profile("sme", "sme", "Unsere Bäckerei hat Fachkräftemangel."),
    # serves the SME's trade, offers something else
    Profile("trade-tool", "startup", "Kassensoftware für jede Backstube."),
    # meets the SME's need, for any trade
    Profile("need-tool", "startup", "Personalvermittlung für Betriebe."),
]


def _concepts(word: str) -> set[str]:
    finder = ConceptFinder(load_cached(None))
    return finder.concepts([fold(t) for t in tokenize(word)])


def test_role_marks_trades_and_defaults_to_need():
    th = load_thesaurus(GROUPS)
    assert th.trade == [True, False]
    text = (
        "[hotel] Hotel / hotel\nrole: trade\nde: Hotel\n\n"
        "[booking] Buchung / booking\nde: Buchung\n"
    )
    assert [g.get("role", "need") for g in parse_text(text)] == ["trade", "need"]
    packaged = load_thesaurus(None)
    trade = dict(zip(packaged.ids, packaged.trade, strict=True))
    assert trade["bakery"] and trade["hospitality"] and trade["public_admin"]
    assert not trade["demand_forecast"] and not trade["recruiting"] and not trade["invoice"]


def test_unknown_role_is_rejected():
    with pytest.raises(ValueError, match="role"):
        load_thesaurus([{"id": "x", "role": "sector", "de": ["Etwas"]}])


def test_a_shared_trade_counts_less_than_a_shared_need():
    def scores(**params):
        engine = MatchEngine(thesaurus={"groups": GROUPS}, **params).fit(PROFILES)
        return engine.score_pair("sme", "trade-tool"), engine.score_pair("sme", "need-tool")

    trade_full, need_full = scores(trade_weight=1.0)
    trade_low, need_low = scores(trade_weight=0.3)
    # the shared trade loses weight, the shared need gains share of the concept block
    assert trade_low < trade_full
    assert need_low > need_full
    assert need_low > trade_low


def test_a_need_many_share_is_not_outweighed_by_a_rare_trade():
    """The concept block keeps no IDF: a common need (staff shortage) is a common match."""
    others = [Profile(f"sme-{i}", "sme", "Wir haben Fachkräftemangel.") for i in range(6)] + [
        Profile(f"st-{i}", "startup", "Personalvermittlung für alle.") for i in range(3)
    ]
    only_concepts = {
        "char_weight": 0.0,
        "word_weight": 0.0,
        "category_weight": 0.0,
        "semantic_weight": 0.0,
        "trade_weight": 1.0,
        # the concept block alone: the hubness correction would (rightly) lower the offer
        # that every SME here shares a need with
        "hub_weight": 0.0,
    }

    def scores(**params):
        engine = MatchEngine(thesaurus={"groups": GROUPS}, **only_concepts, **params)
        engine.fit([*PROFILES, *others])
        return engine.score_pair("sme", "trade-tool"), engine.score_pair("sme", "need-tool")

    trade, need = scores()
    assert MatchEngine().get_params()["idf_blocks"] == ("char", "word", "category")
    assert need == pytest.approx(trade)  # shared at the same weight, whatever their frequency
    # with IDF, the trade that only two profiles name outranks the need that eleven share
    trade_idf, need_idf = scores(idf_blocks=("char", "word", "concept", "category"))
    assert trade_idf > need_idf


def test_trade_words_count_less_in_the_word_blocks():
    profiles = [
        Profile("sme", "sme", "Bäckerei Müller"),
        Profile("st", "startup", "Bäckerei Software"),
    ]

    def score(weight):
        engine = MatchEngine(
            thesaurus={"groups": GROUPS}, concept_weight=0.0, trade_word_weight=weight
        )
        return engine.fit(profiles).score_pair("sme", "st")

    assert score(0.3) < score(1.0)


def test_random_state_is_a_parameter_and_fits_stay_deterministic():
    engine = MatchEngine(random_state=3)
    assert engine.get_params()["random_state"] == 3
    a = MatchEngine(random_state=3).fit(PROFILES).score_pair("sme", "need-tool")
    b = MatchEngine(random_state=3).fit(PROFILES).score_pair("sme", "need-tool")
    assert a == b


@pytest.mark.parametrize(
    ("word", "wrong"),
    [
        ("Preissteigerung", "bakery"),  # Teig
        ("Herausforderung", "funding"),  # Förderung, folded
        ("Anforderungen", "funding"),
        ("Elektroinstallation", "livestock"),  # Stall
        ("Bodenbelag", "soil"),  # Boden
        ("Auftragsänderungen", "soil"),  # Sand
        ("Baustoffe", "textile"),  # Stoffe
        ("Schichtbücher", "book_publishing"),  # Bücher
        ("Bewirtschaftung", "legal"),  # Haftung
        ("spielen", "media"),  # Spiele
        ("Integration", "international_recruiting"),
        ("workshop", "vehicle_workshop"),
        ("Gerichte", "law_practice"),  # dishes as well as courts
        ("klagen", "law_practice"),  # "Betriebe klagen über ..."
        ("Genossenschaft", "community_energy"),
    ],
)
def test_common_words_do_not_name_a_concept_of_another_meaning(word, wrong):
    assert wrong not in _concepts(word)


@pytest.mark.parametrize(
    ("word", "concept"),
    [
        ("Teig", "bakery"),
        ("Wirtschaftsförderung", "funding"),
        ("Bodenproben", "soil"),
        ("Hackerangriffe", "it_security"),
        ("Stall", "livestock"),
        ("Energiegenossenschaft", "community_energy"),
        ("Kfz-Werkstatt", "vehicle_workshop"),
    ],
)
def test_the_narrowed_terms_still_match_their_own_meaning(word, concept):
    assert concept in _concepts(word)


def test_a_model_stored_before_trade_roles_still_loads_and_scores_new_texts():
    """Workers load the newest stored engine; one pickled by the previous code must keep working."""
    engine = MatchEngine(trade_weight=1.0).fit(PROFILES)
    expected = [(s.ref, s.score) for s in engine.suggest_text("Fachkräftemangel, Bäckerei", "sme")]
    # a private copy (the fitted thesaurus is the process-wide cached one), stripped of what
    # the previous code did not store
    old = pickle.loads(pickle.dumps(engine))  # noqa: S301 (bytes this test just wrote)
    for name in ("trade_weight", "trade_word_weight", "random_state"):
        del old.__dict__[name]
    del old.vocabulary_.tok_factor, old.vocabulary_.trade_word_weight
    del old.thesaurus_.trade
    old = pickle.loads(pickle.dumps(old))  # noqa: S301 (bytes this test just wrote)
    assert old.get_params()["trade_weight"] == 1.0
    got = [(s.ref, s.score) for s in old.suggest_text("Fachkräftemangel, Bäckerei", "sme")]
    assert got == expected
