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


def test_a_compound_part_counts_as_a_word_of_its_own():
    """ "Bedarfsprognose" meets an offer of "Prognosen" as fully as the word "Prognose" would."""
    profiles = [
        Profile("sme", "sme", "Bedarfsprognose"),
        Profile("st", "startup", "Prognosen"),
        Profile("other", "startup", "Bedarf"),
    ]
    only_words = {"char_weight": 0, "concept_weight": 0, "category_weight": 0}

    def score(**params):
        engine = MatchEngine(**only_words, semantic_weight=0, **params).fit(profiles)
        return engine.score_pair("sme", "st")

    assert score() == pytest.approx(score(compound_weight=1.0))
    assert score() > score(compound_weight=0.5)


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
    assert "maintenance" in {r.concept for r in best.reasons}
    first = best.reasons[0]
    assert first.sme_word in sme.text
    assert first.startup_word.lower() in STARTUPS[1].text.lower()
    assert str(first).startswith(f"{first.label}: ")


def test_reasons_contain_no_stop_words():
    engine = fit(Profile("sme", "sme", "Wir suchen eine digitale Lösung für Daten und Rechnungen."))
    reasons = [r for s in engine.suggest("sme") for r in s.reasons]
    assert reasons
    words = {w.lower() for r in reasons for w in (r.sme_word, r.startup_word)}
    assert not words & {"daten", "lösung", "digitale", "und", "für"}


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


def test_top_k_pairs_equals_brute_force_with_ties():
    import scipy.sparse as sp

    from matchmaker.matching.engine import top_k_pairs

    rng = np.random.default_rng(3)
    Q = sp.random(300, 80, density=0.08, random_state=1, dtype=np.float32).toarray()
    Q = np.round(Q * 4) / 4  # many exact ties
    Q[:, :3] = rng.integers(0, 2, size=(300, 3)) * 0.5  # dense columns go the BLAS way
    Q = sp.csr_matrix(Q.astype(np.float32))
    C = Q[rng.permutation(300)[:70]]
    S = (Q.astype(np.float64) @ C.T.astype(np.float64)).toarray().astype(np.float32)
    for k in (1, 5, 70, 100):
        rows, cols = top_k_pairs(Q, C, k, block_size=64, columns=True)
        for M, got in ((S, rows), (S.T, cols)):
            for r in range(M.shape[0]):
                order = np.lexsort((np.arange(M.shape[1]), -M[r]))[: min(k, M.shape[1])]
                assert list(got[r][0]) == order.tolist()
                assert list(got[r][1]) == M[r, order].tolist()


def test_suggest_scores_equal_batch_scores_exactly():
    engine = MatchEngine().fit(make_many())
    both = engine.top_k_both(k=4, reasons=False)
    for by_ref in both:
        for ref, suggestions in by_ref.items():
            assert [(s.ref, s.score) for s in suggestions] == [
                (s.ref, s.score) for s in engine.suggest(ref, k=4)
            ]


@pytest.mark.parametrize("block_size", [2, 2048])
def test_suggest_many_equals_suggest_of_each_new_profile(block_size):
    engine = MatchEngine(block_size=block_size).fit(make_many())
    before = _fitted_state(engine)
    new = [
        Profile("new-invoices", "sme", "Wir tippen Rechnungen ab und suchen eine Belegerfassung."),
        Profile("new-unknown", "sme", "Zylinderkopfdichtungen für Oldtimer"),  # unseen words
        Profile("new-pumps", "sme", "Unsere Pumpen fallen aus; Wartung nach Plan reicht nicht."),
    ]
    many = engine.suggest_many(new, k=3)
    assert many == [engine.suggest(p, k=3) for p in new]
    assert many[0][0].ref == "st-invoice" and many[0][0].reasons
    plain = engine.suggest_many(new, k=3, reasons=False)
    assert [[(s.ref, s.score, s.reasons) for s in found] for found in plain] == [
        [(s.ref, s.score, ()) for s in found] for found in many
    ]
    assert engine.suggest_many([], k=3) == []
    with pytest.raises(ValueError, match="one kind"):
        engine.suggest_many([new[0], STARTUPS[0]], k=3)
    assert _fitted_state(engine) == before


def _fitted_state(engine):
    """A deep snapshot of everything ``fit`` learnt (attributes ending in ``_``)."""
    import copy
    import pickle

    state = {k: v for k, v in vars(engine).items() if k.endswith("_")}
    return pickle.dumps(copy.deepcopy(state))


def test_explain_and_suggest_text_leave_the_fitted_model_unchanged():
    engine = fit(Profile("sme", "sme", "Eingangsrechnungen und Wartung der Pumpen"))
    before = _fitted_state(engine)
    n_tokens = len(engine.vocabulary_.lexicon.tokens)
    engine.explain("sme", "st-invoice")
    engine.suggest("sme")
    engine.top_k_both(3)
    found = engine.suggest_text(
        "Völlig neue Wörter: Schweißnahtprüfung, Quantenkryptographie, Rechnungsbelege",
        "sme",
        tags=("Zaunkönig",),
        sector="Gießerei",
    )
    assert found  # the new text was analysed ...
    assert len(engine.vocabulary_.lexicon.tokens) == n_tokens  # ... in a copy
    assert _fitted_state(engine) == before


def test_estimator_contract():
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    engine = MatchEngine(char_weight=0.5, max_reasons=2)
    assert engine.get_params()["char_weight"] == 0.5
    assert not [k for k in vars(engine) if k.endswith("_")]  # nothing learnt in __init__
    with pytest.raises(NotFittedError):
        engine.suggest("x")
    assert engine.fit(make_many()) is engine
    twin = clone(engine)
    assert twin.get_params() == engine.get_params()
    assert not hasattr(twin, "X_")


def test_engine_imports_and_runs_with_flask_and_sqlalchemy_blocked():
    import subprocess
    import sys
    from pathlib import Path

    code = """
import sys
for name in ("flask", "flask_sqlalchemy", "sqlalchemy", "flask_babel", "flask_login", "werkzeug"):
    sys.modules[name] = None
from matchmaker.matching.engine import MatchEngine, Profile, Suggestion
from matchmaker.matching.evaluation import evaluate_file
engine = MatchEngine().fit([
    Profile("a", "sme", "Unsere Eingangsrechnungen stapeln sich."),
    Profile("b", "startup", "Wir lesen Rechnungen automatisch aus."),
])
best = engine.suggest("a")[0]
assert isinstance(best, Suggestion) and best.ref == "b" and best.reasons, best
assert engine.explain("a", "b").spans_a
assert engine.top_k_both(1)[0]["a"][0].ref == "b"
print("ok")
"""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(  # noqa: S603 (our own interpreter and a literal script)
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize("n_startups", [1, 2])
def test_tiny_directories_of_identical_texts_fit_and_score_one(n_startups):
    """Too few distinct profiles for a latent space: the other blocks carry the whole score."""
    profiles = [Profile("sme", "sme", "Rechnungen prüfen")]
    profiles += [Profile(f"st-{i}", "startup", "Rechnungen prüfen") for i in range(n_startups)]
    engine = MatchEngine().fit(profiles)  # warnings are errors in this suite
    assert [s.score for s in engine.suggest("sme")] == pytest.approx([1.0] * n_startups)


def test_the_dense_products_run_on_one_blas_thread(monkeypatch):
    """The latent fit and the dense part of the top-k products use one BLAS thread, whatever
    the process allows (two threads on a busy two-core machine wait for each other)."""
    import scipy.sparse as sp
    from threadpoolctl import threadpool_info, threadpool_limits

    from matchmaker.matching.engine import features, top_k_pairs

    seen = []

    def blas_threads():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    fit_svd = features.TruncatedSVD.fit

    def recording_fit(self, X, y=None):
        seen.append(("lsa", blas_threads()))
        return fit_svd(self, X, y)

    monkeypatch.setattr(features.TruncatedSVD, "fit", recording_fit)
    Q = sp.csr_matrix(np.ones((4, 3), dtype=np.float32))

    class Dense(np.ndarray):
        def __matmul__(self, other):
            seen.append(("top-k", blas_threads()))
            return np.asarray(self) @ other

    to_dense = sp.csr_matrix.toarray
    monkeypatch.setattr(sp.csr_matrix, "toarray", lambda m, *a: to_dense(m, *a).view(Dense))
    with threadpool_limits(limits=2, user_api="blas"):
        MatchEngine().fit(make_many())
        top_k_pairs(Q, Q, 2)
        assert blas_threads() == {2}  # the limit is lifted afterwards
    kinds = {kind for kind, _ in seen}
    assert kinds == {"lsa", "top-k"}
    assert all(threads == {1} for _, threads in seen)
