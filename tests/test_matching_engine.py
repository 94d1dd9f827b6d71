"""Tests of the pure matching engine (no app needed)."""

import json

import numpy as np
import pytest

from matchmaker.matching.engine import MatchEngine, Profile

STARTUPS = [
    Profile(
        "st-invoice",
        "startup",
        "Wir lesen Rechnungen und Belege automatisch aus und übergeben sie an die Buchhaltung.",
        tags=("Belegerfassung", "Finanzbuchhaltung"),
    ),
    Profile(
        "st-maint",
        "startup",
        "Predictive maintenance for pumps and motors: vibration sensors warn before a failure.",
    ),
    Profile(
        "st-security",
        "startup",
        "Schutz vor Phishing und Ransomware: wir überwachen Ihre IT rund um die Uhr.",
    ),
    Profile(
        "st-translate",
        "startup",
        "Maschinelle Übersetzung von Fachtexten ins Polnische und Tschechische.",
    ),
    Profile(
        "st-generic",
        "startup",
        "Innovative digitale KI-Lösung für Ihre Daten und Prozesse im Unternehmen.",
    ),
]


def fit(*smes, **params):
    return MatchEngine(**params).fit([*smes, *STARTUPS])


def top_ref(engine, ref):
    return engine.suggest(ref, k=1)[0].ref


def test_compound_matches_its_head():
    engine = fit(Profile("sme", "sme", "Unsere Eingangsrechnungen stapeln sich."))
    assert top_ref(engine, "sme") == "st-invoice"


def test_inflection_matches():
    engine = fit(Profile("sme", "sme", "Die Rechnung wird noch abgetippt."))
    assert top_ref(engine, "sme") == "st-invoice"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We receive hundreds of invoices every month.", "st-invoice"),
        ("Die Wartung unserer Pumpen ist teuer.", "st-maint"),
        ("Wir brauchen Übersetzungen für polnische Kunden.", "st-translate"),
        ("Our staff keep clicking on phishing emails.", "st-security"),
    ],
)
def test_english_and_german_meet_through_the_thesaurus(text, expected):
    engine = fit(Profile("sme", "sme", text))
    assert top_ref(engine, "sme") == expected


def test_invoice_meets_rechnungen_without_shared_characters():
    startup = Profile("st", "startup", "Rechnungen")
    engine = MatchEngine().fit([Profile("sme", "sme", "invoice"), startup])
    assert engine.score_pair("sme", "st") > 0.2


def test_reasons_name_concepts_present_in_both_texts():
    sme = Profile("sme", "sme", "Die Wartung unserer Pumpen frisst Zeit.")
    engine = fit(sme)
    best = engine.suggest("sme", k=1)[0]
    assert best.ref == "st-maint"
    assert best.reasons
    assert len(best.reasons) <= 3
    first = best.reasons[0]
    left, _, right = first.partition(" ↔ ")
    assert left.lower() in sme.text.lower()
    assert (right or left).lower() in STARTUPS[1].text.lower()


def test_reasons_contain_no_stop_words():
    engine = fit(Profile("sme", "sme", "Wir suchen eine digitale Lösung für Daten und Rechnungen."))
    reasons = " ".join(r for s in engine.suggest("sme") for r in s.reasons).lower()
    for word in ("daten", "lösung", "digitale", "und", "für"):
        assert word not in reasons.split()


@pytest.mark.parametrize("text", ["", "   ", "KI", "Rechnung", "!!!"])
def test_empty_and_one_word_texts_do_not_crash(text):
    engine = fit(Profile("sme", "sme", text))
    suggestions = engine.suggest("sme")
    assert all(0.0 <= s.score <= 1.0 for s in suggestions)
    if text.strip() in {"", "!!!"}:
        assert suggestions == []
    if text == "KI":  # a generic word is weak evidence
        assert all(s.score < 0.2 for s in suggestions)


def test_identical_texts_score_about_one_and_rank_first():
    twin = Profile("sme", "sme", STARTUPS[2].text)
    engine = fit(twin)
    best = engine.suggest("sme", k=1)[0]
    assert best.ref == "st-security"
    assert best.score == pytest.approx(1.0, abs=0.05)


def test_profile_without_match_gets_no_suggestions_above_min_score():
    engine = fit(Profile("sme", "sme", "Zauberwürfel Origami Blockflöte"), min_score=0.05)
    assert engine.suggest("sme") == []


def test_scores_are_in_unit_interval_and_symmetric():
    engine = fit(Profile("sme", "sme", "Rechnungen und Wartung"))
    for st in STARTUPS:
        a = engine.score_pair("sme", st.ref)
        assert 0.0 <= a <= 1.0
        assert a == pytest.approx(engine.score_pair(st.ref, "sme"))


def make_many():
    texts = [
        "Eingangsrechnungen und Belege erfassen",
        "Wartung der Pumpen, Ausfälle vermeiden",
        "Phishing-Mails und Angriffe auf die IT",
        "Übersetzung ins Polnische",
        "Tourenplanung für unsere Fahrer",
        "Bewerbungen sichten, Fachkräfte finden",
        "Ertragsprognose für Photovoltaik",
        "Bürgeranfragen im Rathaus beantworten",
    ]
    smes = [Profile(f"sme-{i}", "sme", t) for i, t in enumerate(texts)]
    smes.append(Profile("sme-twin", "sme", texts[0]))  # exact ties
    return [*smes, *STARTUPS]


@pytest.mark.parametrize("direction", ["sme", "startup"])
def test_top_k_all_equals_suggest(direction):
    engine = MatchEngine().fit(make_many())
    every = engine.top_k_all(k=3, direction=direction)
    kinds = {p.ref: p.kind for p in engine.profiles_}
    assert set(every) == {r for r, k in kinds.items() if k == direction}
    for ref, suggestions in every.items():
        assert suggestions == engine.suggest(ref, k=3)
    both = engine.top_k_both(k=3)
    assert both[0 if direction == "sme" else 1] == every


def test_ties_are_broken_by_fit_order():
    engine = MatchEngine().fit(make_many())
    ranked = [s.ref for s in engine.suggest("st-invoice", k=9)]
    assert ranked.index("sme-0") < ranked.index("sme-twin")


def test_fit_is_deterministic():
    a = MatchEngine().fit(make_many())
    b = MatchEngine().fit(make_many())
    assert (a.X_ != b.X_).nnz == 0
    assert a.top_k_all(5) == b.top_k_all(5)


def test_extra_thesaurus_file_changes_matching(tmp_path):
    profiles = [
        Profile("sme", "sme", "Wir brauchen Hilfe mit dem Flurfunk."),
        Profile("a", "startup", "Wir optimieren Ihre Gerüchteküche."),
        Profile("b", "startup", "Wir optimieren Ihre Buchhaltung."),
    ]
    before = MatchEngine().fit(profiles).score_pair("sme", "a")
    extra = tmp_path / "extra.txt"
    extra.write_text(
        "[gossip] Flurfunk / office gossip\ncategories: hr\nde: Flurfunk, Gerüchteküche\n",
        encoding="utf-8",
    )
    engine = MatchEngine(extra_thesaurus=extra).fit(profiles)
    assert engine.score_pair("sme", "a") > before + 0.1
    assert engine.suggest("sme", k=1)[0].ref == "a"
    as_json = tmp_path / "extra.json"
    as_json.write_text(
        json.dumps({"groups": [{"id": "gossip", "de": ["Flurfunk", "Gerüchteküche"]}]}),
        encoding="utf-8",
    )
    assert MatchEngine(extra_thesaurus=as_json).fit(profiles).suggest("sme", k=1)[0].ref == "a"


def test_explain_spans_point_to_real_substrings():
    sme = Profile("sme", "sme", "Unsere Eingangsrechnungen und die Wartung der Pumpen.")
    engine = fit(sme)
    expl = engine.explain("sme", "st-invoice")
    assert expl.score == pytest.approx(engine.score_pair("sme", "st-invoice"))
    assert expl.reasons
    assert expl.spans_a and expl.spans_b
    texts = {"sme": sme, "st-invoice": STARTUPS[0]}
    for spans, ref in ((expl.spans_a, "sme"), (expl.spans_b, "st-invoice")):
        p = texts[ref]
        for span in spans:
            source = p.text if span.field == "text" else ", ".join(p.tags)
            word = source[span.start : span.end]
            assert word and word.strip() == word
            assert span.label
    highlighted = {sme.text[s.start : s.end] for s in expl.spans_a}
    assert "Eingangsrechnungen" in highlighted
    assert "Wartung" not in highlighted  # not shared with the invoice startup


def test_suggest_text_matches_fitted_profile():
    engine = fit(Profile("sme", "sme", "Rechnungen"))
    adhoc = engine.suggest_text("Unsere Pumpen fallen ständig aus.", "sme", k=2)
    assert adhoc[0].ref == "st-maint"
    same = engine.suggest_text("Rechnungen", "sme")
    assert [s.ref for s in same] == [s.ref for s in engine.suggest("sme")]
    assert np.allclose([s.score for s in same], [s.score for s in engine.suggest("sme")])


def test_categories_are_structured_evidence():
    profiles = [
        Profile("sme", "sme", "Wir suchen Unterstützung.", categories=("hr",)),
        Profile("a", "startup", "Wir helfen Ihnen.", categories=("hr",)),
        Profile("b", "startup", "Wir helfen Ihnen.", categories=("logistics",)),
    ]
    engine = MatchEngine().fit(profiles)
    assert engine.score_pair("sme", "a") > engine.score_pair("sme", "b")
    assert engine.explain("sme", "a").shared_categories == ("hr",)


def test_rejects_duplicate_refs_and_unknown_kind():
    with pytest.raises(ValueError, match="unique"):
        MatchEngine().fit([Profile("x", "sme", "a"), Profile("x", "startup", "b")])
    with pytest.raises(ValueError, match="kind"):
        MatchEngine().fit([Profile("x", "investor", "a")])
