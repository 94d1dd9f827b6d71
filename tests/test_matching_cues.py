"""Cue-gated thesaurus groups: a word counts for the concept only next to one of its cues."""

import pickle

from matchmaker.language.concepts import ConceptFinder
from matchmaker.language.text import fold, tokenize
from matchmaker.language.thesaurus import load_thesaurus, parse_text
from matchmaker.matching.engine import MatchEngine, Profile

# isolated from the packaged thesaurus: "Fahrer" is a shortage only next to "fehlen"
GROUPS = [
    {"id": "staff_wanted", "de": ["Fahrer"], "cues": ["fehlen", "fehlt"]},
    {"id": "routing", "de": ["Tourenplanung"]},
]
OFFER = Profile("offer", "startup", "Uns fehlen Fahrer? Wir vermitteln sie.")


def _shared(text: str, groups=GROUPS) -> set[str]:
    """Concepts the SME text shares with the offer, read from the reasons."""
    engine = MatchEngine(thesaurus={"groups": groups}, semantic_weight=0.0).fit(
        [Profile("sme", "sme", text), OFFER]
    )
    return {r.concept for r in engine.explain("sme", "offer").reasons if r.concept}


def test_cues_parse_and_compile():
    text = "[staff_wanted] Personal gesucht / staff wanted\nde: Fahrer\ncues: fehlen, lack\n"
    assert parse_text(text)[0]["cues"] == ["fehlen", "lack"]
    th = load_thesaurus(GROUPS)
    assert th.gated == [True, False]
    staff = th.index["staff_wanted"]
    assert th.match_cues("fehlen", "fehl", "fehlen") == [staff]
    assert th.match_cues("fahrer", "fahr", "fahrer") == []


def test_word_counts_only_with_its_cue_in_the_same_sentence():
    assert "staff_wanted" in _shared("Uns fehlen Fahrer für die Lkw.")
    # the word without a cue, or the cue in another sentence, is no shortage
    assert "staff_wanted" not in _shared("Unsere Fahrer sind zufrieden.")
    assert "staff_wanted" not in _shared("Unsere Fahrer sind zufrieden. Es fehlt ein Lager.")
    # without the cue rule the same word would count everywhere
    ungated = [{**GROUPS[0], "cues": []}, GROUPS[1]]
    assert "staff_wanted" in _shared("Unsere Fahrer sind zufrieden.", ungated)


def test_cue_gated_reason_names_the_word_and_the_score_rises():
    engine = MatchEngine(thesaurus={"groups": GROUPS}, semantic_weight=0.0).fit(
        [
            Profile("need", "sme", "Uns fehlen Fahrer."),
            Profile("calm", "sme", "Unsere Fahrer fahren."),
            OFFER,
        ]
    )
    reasons = engine.explain("need", "offer").reasons
    assert any(r.concept == "staff_wanted" and r.sme_word == "Fahrer" for r in reasons)
    assert engine.score_pair("need", "offer") > engine.score_pair("calm", "offer")


def test_packaged_thesaurus_reads_shortages_and_energy_bills():
    recruiter = Profile(
        "rec", "startup", "Wir helfen Betrieben bei Recruiting und Stellenanzeigen."
    )
    energy = Profile("en", "startup", "Wir senken Ihre Energiekosten durch günstige Strompreise.")
    smes = [
        Profile("drivers", "sme", "Wir finden kaum noch Fahrer, die Lkw stehen still."),
        Profile("bill", "sme", "Für den Strom zahlen wir jetzt das Dreifache."),
    ]
    engine = MatchEngine().fit([*smes, recruiter, energy])
    staff = {r.concept for r in engine.explain("drivers", "rec").reasons}
    assert staff & {"staff_wanted", "recruiting", "skills_shortage"}
    assert engine.score_pair("drivers", "rec") > engine.score_pair("drivers", "en")
    bill = {r.concept for r in engine.explain("bill", "en").reasons}
    assert bill & {"energy_bill", "energy_prices"}
    assert engine.score_pair("bill", "en") > engine.score_pair("bill", "rec")


def test_packaged_thesaurus_reads_needs_told_as_a_story():
    security = Profile(
        "sec", "startup", "Wir schützen kleine Unternehmen vor Cyberangriffen und Ransomware."
    )
    haulier_recruiting = Profile(
        "haul", "startup", "Wir helfen Speditionen, über soziale Medien neue Kraftfahrer zu finden."
    )
    craft_recruiting = Profile(
        "craft",
        "startup",
        "Unsere Recruiting-Agentur schaltet Stellenanzeigen für Handwerksbetriebe.",
    )
    smes = [
        # an attack told by what people saw, without "Hacker" or "Ransomware"
        Profile(
            "attack", "sme", "Der Bildschirm blieb dunkel. Die Kundendaten waren unerreichbar."
        ),
        Profile("calm", "sme", "Der Bildschirm zeigt die Kundendaten übersichtlich an."),
        # a driver shortage told by the trucks that stand idle
        Profile("trucks", "sme", "Wir können die Lkw nicht besetzen."),
        # a craft firm short of mechanics
        Profile("bikes", "sme", "In der Werkstatt finde ich keine Mechaniker."),
    ]
    engine = MatchEngine().fit([*smes, security, haulier_recruiting, craft_recruiting])
    attack = {r.concept for r in engine.explain("attack", "sec").reasons}
    assert attack & {"it_outage", "ransomware", "it_security"}
    assert engine.score_pair("attack", "sec") > engine.score_pair("calm", "sec")
    trucks = {r.concept for r in engine.explain("trucks", "haul").reasons}
    assert trucks & {"unstaffed", "drivers", "staff_wanted"}
    assert engine.score_pair("trucks", "haul") > engine.score_pair("trucks", "sec")
    assert engine.score_pair("bikes", "craft") > engine.score_pair("bikes", "haul")


def _concepts(engine: MatchEngine, a: str, b: str) -> set[str]:
    return {r.concept for r in engine.explain(a, b).reasons if r.concept}


def test_packaged_thesaurus_reads_everyday_needs_and_not_everyday_words():
    offers = [
        Profile("guard", "startup", "Our cameras alert the lifeguard when a swimmer is drowning."),
        Profile("phone", "startup", "Unser KI-Telefonassistent nimmt Anrufe rund um die Uhr an."),
        Profile("moderate", "startup", "Our AI removes hate speech from comment sections."),
        Profile("hours", "startup", "Digitale Zeiterfassung per App für Handwerksbetriebe."),
        Profile("falls", "startup", "Our radar sensor detects falls of care home residents."),
        Profile("languages", "startup", "Wir übersetzen Formulare ins Ukrainische und Polnische."),
        Profile("contracts", "startup", "Wir prüfen Verträge und Gewährleistungsansprüche."),
    ]
    smes = [
        # needs told without the word an offer would use
        Profile("pool", "sme", "Es gibt zu wenige Bademeister für die Sicherheit im Bad."),
        Profile("calls", "sme", "Täglich rufen hundert Kunden bei uns an."),
        Profile("paper", "sme", "Die Redaktion muss jeden Tag beleidigende Kommentare löschen."),
        Profile("painter", "sme", "Abends sitze ich über unleserlichen Stundenzetteln."),
        # everyday words that only look like a concept: to ensure, a case, a country
        Profile(
            "plant",
            "sme",
            "Wir müssen die Versorgung gewährleisten. In diesem Fall fallen die Maschinen aus. "
            "Seit dem Krieg in der Ukraine ist das Gas teuer.",
        ),
    ]
    engine = MatchEngine(max_reasons=10).fit([*smes, *offers])
    assert "water_safety" in _concepts(engine, "pool", "guard")
    assert {"telephony", "calling_in"} & _concepts(engine, "calls", "phone")
    assert "comment_moderation" in _concepts(engine, "paper", "moderate")
    assert "time_tracking" in _concepts(engine, "painter", "hours")
    for need, offer in (("pool", "guard"), ("paper", "moderate"), ("painter", "hours")):
        others = [o.ref for o in offers if o.ref != offer]
        assert engine.score_pair(need, offer) > max(engine.score_pair(need, o) for o in others)
    assert not _concepts(engine, "plant", "falls") & {"fall_detection", "assisted_living"}
    assert "languages" not in _concepts(engine, "plant", "languages")
    assert "legal" not in _concepts(engine, "plant", "contracts")


def test_directory_concepts_leave_gated_groups_out():
    # a search query has no sentence around a word: gated groups are not looked up there
    finder = ConceptFinder(load_thesaurus(GROUPS))
    assert finder.concepts([fold(t) for t in tokenize("Fahrer fehlen Tourenplanung")]) == {
        "routing"
    }


def test_fitted_engine_with_cues_pickles():
    engine = MatchEngine(thesaurus={"groups": GROUPS}, semantic_weight=0.0).fit(
        [Profile("sme", "sme", "Uns fehlen Fahrer."), OFFER]
    )
    again = pickle.loads(pickle.dumps(engine))  # noqa: S301 (bytes this test just wrote)
    assert again.score_pair("sme", "offer") == engine.score_pair("sme", "offer")
    fresh = again.score_pair(Profile("new", "sme", "Uns fehlen Fahrer."), "offer")
    assert fresh == engine.score_pair("sme", "offer")
