"""Audit of the engine's reasons: every word pair shares a concept of the thesaurus or a stem."""

import json
from pathlib import Path

import pytest
import Stemmer

from matchmaker.language.text import fold, tokenize
from matchmaker.matching.engine import MatchEngine, Profile
from matchmaker.matching.engine.features import canonical_stem
from matchmaker.matching.evaluation import load_labelled

ROOT = Path(__file__).resolve().parents[1]
DEV_FILE = ROOT / "tests/data/matching-dev.json"
DEMO_FILE = ROOT / "matchmaker/demo/lausitz.json"
DE, EN = Stemmer.Stemmer("german"), Stemmer.Stemmer("english")


def demo_profiles() -> list[Profile]:
    """The demo's SMEs and startups, as the app builds them (offering plus solutions)."""
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    out = [
        Profile(s["id"], "sme", s["needs"], sector=s.get("sector", ""), tags=())
        for s in data["smes"]
    ]
    for s in data["startups"]:
        texts = [s["offering"]]
        for solution in s.get("solutions", []):
            texts += [solution.get("title", ""), solution.get("description", "")]
        out.append(Profile(s["id"], "startup", "\n".join(texts), tags=tuple(s.get("tags", ()))))
    return out


def dev_profiles() -> list[Profile]:
    smes, startups, _ = load_labelled(DEV_FILE)
    return [*smes, *startups]


def _direct_concepts(thesaurus, word: str) -> set[str]:
    """Concepts the thesaurus gives a word or phrase by itself (checked independently)."""
    tokens = [fold(t) for t in tokenize(word)]
    found = set()
    if len(tokens) > 1:
        found |= {thesaurus.ids[c] for c in thesaurus.phrases.get(tuple(DE.stemWords(tokens)), ())}
    for t in tokens:
        matches = thesaurus.match_token(t, DE.stemWord(t), EN.stemWord(t))
        found |= {thesaurus.ids[c] for c, _, _ in matches}
    return found


def _with_broader(thesaurus, concepts: set[str]) -> set[str]:
    groups = {g.id: g for g in thesaurus.groups}
    out, todo = set(), list(concepts)
    while todo:
        c = todo.pop()
        if c not in out:
            out.add(c)
            todo.extend(groups[c].broader)
    return out


def _in_fields(word: str, profile: Profile) -> bool:
    """Tell whether the word (or phrase) occurs, as whole tokens, in one field of the profile."""
    wanted = tokenize(word)
    for text in (profile.text, ", ".join(profile.tags), profile.sector):
        toks = tokenize(text)
        if any(toks[i : i + len(wanted)] == wanted for i in range(len(toks))):
            return True
    return False


def _stem(word: str) -> str:
    f = fold(word)
    return canonical_stem(DE.stemWord(f), EN.stemWord(f))


@pytest.mark.parametrize("profiles", [dev_profiles, demo_profiles], ids=["dev", "demo"])
def test_every_reason_names_a_shared_concept_or_stem(profiles):
    profiles = profiles()
    by_ref = {p.ref: p for p in profiles}
    engine = MatchEngine().fit(profiles)
    th = engine.thesaurus_
    by_sme, by_startup = engine.top_k_both(10)
    audited = 0
    for direction, found in (("sme", by_sme), ("startup", by_startup)):
        for ref, suggestions in found.items():
            for s in suggestions:
                sme, startup = (ref, s.ref) if direction == "sme" else (s.ref, ref)
                for r in s.reasons:
                    assert _in_fields(r.sme_word, by_ref[sme]), (sme, r)
                    assert _in_fields(r.startup_word, by_ref[startup]), (startup, r)
                    if r.concept:
                        direct_a = _direct_concepts(th, r.sme_word)
                        direct_b = _direct_concepts(th, r.startup_word)
                        assert r.concept in _with_broader(th, direct_a), r
                        assert r.concept in _with_broader(th, direct_b), r
                        assert r.concept in direct_a | direct_b, r
                        assert str(r).startswith(r.label)
                    else:
                        assert _stem(r.sme_word) == _stem(r.startup_word), r
                    audited += 1
    assert audited > 100


KNOWN_NONSENSE = [
    ("Verkäuferinnen", "prices"),
    ("Post", "Social-Media-Beiträge"),
    ("Temperaturen", "Stürmen"),
    ("Editorial", "Tag"),
    ("expensive", "DATEV"),
]


def test_known_nonsense_pairs_are_gone():
    engine = MatchEngine().fit(demo_profiles() + dev_profiles())
    pairs = set()
    for found in engine.top_k_both(20):
        for suggestions in found.values():
            for s in suggestions:
                pairs.update((r.sme_word, r.startup_word) for r in s.reasons)
                pairs.update((r.startup_word, r.sme_word) for r in s.reasons)
    assert len(pairs) > 200
    assert not pairs & set(KNOWN_NONSENSE)
    assert not {p for p in pairs if p[0] in {"Temperaturen", "Editorial", "expensive"}} & {
        p for p in pairs if p[1] in {"Stürmen", "Tag", "DATEV"}
    }


def test_reason_reads_label_then_words():
    engine = MatchEngine().fit(
        [
            Profile("a", "sme", "Wir brauchen eine bessere Absatzprognose für unsere Filialen."),
            Profile("b", "startup", "Demand forecasting for bakeries and retail chains."),
        ]
    )
    reasons = engine.suggest("a")[0].reasons
    forecast = next(r for r in reasons if r.concept == "demand_forecast")
    assert str(forecast) == "Absatz- und Bedarfsprognose: Absatzprognose ↔ Demand forecasting"
    assert (forecast.sme_word, forecast.startup_word) == ("Absatzprognose", "Demand forecasting")
    # the startup's view names the SME's word first, too
    back = engine.suggest("b")[0].reasons
    assert forecast in back


def test_pairs_sharing_only_unnamed_features_have_no_reasons():
    # Real texts (tests/data/matching-real-dev.json, a copy of the bench's real-text dev set):
    # some pairs share only features no word names (concepts reached through narrower ones).
    # They are explained without reasons; this used to raise IndexError (a 500 on the pair page).
    smes, startups, _ = load_labelled(ROOT / "tests/data/matching-real-dev.json")
    # block scores only: the hubness correction can take such a weak pair to 0
    engine = MatchEngine(hub_weight=0.0).fit([*smes, *startups])
    unexplained = []
    for sme in smes:
        for startup in startups:
            explanation = engine.explain(sme.ref, startup.ref)
            if not explanation.reasons and explanation.score > 0:
                unexplained.append((sme.ref, startup.ref))
    assert ("rd-sme-02", "rd-st-01") in unexplained


def test_pairs_sharing_only_unnamed_concepts_have_no_reasons():
    # These demo pairs share features, but no concept that a word of either side carries
    # itself; explaining them used to crash (and with it a schedule build that placed them).
    engine = MatchEngine().fit(demo_profiles())
    for a, b in (("demo-sme-23", "demo-st-01"), ("demo-sme-07", "demo-sme-18")):
        assert engine.explain(a, b).reasons == ()
        assert engine.score_pair(a, b) >= 0.0


def test_reasons_of_many_pairs_are_those_of_each_pair():
    engine = MatchEngine().fit(demo_profiles())
    refs = sorted(engine.index_)
    pairs = [(a, b) for a in refs[:12] for b in refs[-12:] if a != b]
    pairs += [("demo-sme-23", "demo-st-01"), ("demo-st-01", "demo-sme-23")]
    assert engine.reasons_of(pairs) == [engine.explain(a, b).reasons for a, b in pairs]
    assert any(engine.reasons_of(pairs))
    assert engine.reasons_of([]) == []


def test_reasons_of_profiles_changed_since_the_fit_name_their_current_words():
    profiles = demo_profiles()
    engine = MatchEngine().fit(profiles)
    sme = next(p for p in profiles if p.kind == "sme")
    startups = [p.ref for p in profiles if p.kind == "startup"]
    # the SME rewrote its needs after the fit: the fitted row still holds the old text
    changed = Profile(sme.ref, "sme", "Vorausschauende Wartung unserer Pumpen mit Sensordaten.")
    pairs = [(changed, ref) for ref in startups] + [(ref, changed) for ref in startups[:3]]
    pairs += [(sme.ref, startups[0])]  # a fitted pair in the same call, worded in the batch
    found = engine.reasons_of(pairs)
    assert found == [engine.explain(a, b).reasons for a, b in pairs]
    words = {r.sme_word for reasons in found[:-1] for r in reasons}
    assert words and words <= {"Vorausschauende Wartung", "Wartung", "Pumpen", "Sensordaten"}
    old = {r.sme_word for r in engine.explain(sme.ref, startups[0]).reasons}
    assert found[-1] == engine.explain(sme.ref, startups[0]).reasons and old
