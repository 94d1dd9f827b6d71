"""Hubness correction: a generic offer that fits everyone a little ranks below a specific one."""

import pickle

import numpy as np
import pytest

from matchmaker.matching.engine import MatchEngine, Profile

SMES = [
    Profile(
        "books", "sme", "Unsere Eingangsrechnungen prüfen wir von Hand, die Buchhaltung hängt."
    ),
    Profile("repair", "sme", "Unsere Maschinen fallen ungeplant aus, die Wartung kommt zu spät."),
    Profile("staff", "sme", "Uns fehlen Fachkräfte, Bewerbungen kommen kaum."),
    Profile("calls", "sme", "Das Telefon klingelt ständig, Kundenanfragen bleiben liegen."),
]
STARTUPS = [
    # a little of everything: it scores fairly well with every SME
    Profile(
        "generic",
        "startup",
        "KI-Beratung für den Mittelstand: Rechnungen, Wartung, Fachkräfte und Kundenanfragen.",
    ),
    Profile("invoices", "startup", "Eingangsrechnungen automatisch prüfen und buchen."),
    Profile("maintenance", "startup", "Vorausschauende Wartung erkennt Ausfälle von Maschinen."),
]


def fit(**params) -> MatchEngine:
    return MatchEngine(**params).fit([*SMES, *STARTUPS])


def margin(engine: MatchEngine) -> float:
    """How far the specific offer is ahead of the generic one for the bookkeeping SME."""
    return engine.score_pair("books", "invoices") - engine.score_pair("books", "generic")


def test_generic_offer_loses_ground_to_the_specific_one():
    on, off = fit(), fit(hub_weight=0.0)
    assert on.get_params()["hub_weight"] == 0.25
    assert margin(on) > margin(off)
    # the generic offer is penalised more than the specific ones
    drop = {
        st.ref: off.score_pair("books", st.ref) - on.score_pair("books", st.ref)
        for st in STARTUPS[:2]
    }
    assert drop["generic"] > drop["invoices"] >= 0


def test_order_of_smes_for_a_startup_is_unchanged():
    on, off = fit(), fit(hub_weight=0.0)
    for st in STARTUPS:
        assert [s.ref for s in on.suggest(st.ref, k=4)] == [s.ref for s in off.suggest(st.ref, k=4)]


def test_every_scoring_path_agrees():
    engine = fit()
    by_sme, _ = engine.top_k_both(k=3)
    for sme in SMES:
        single = engine.suggest(sme.ref, k=3)
        assert [(s.ref, s.score) for s in single] == [(s.ref, s.score) for s in by_sme[sme.ref]]
        for s in single:
            assert s.score == pytest.approx(engine.score_pair(sme.ref, s.ref), abs=1e-6)
    # a new profile with a fitted startup's text scores as the fitted one
    twin = Profile("twin", "startup", STARTUPS[1].text)
    assert engine.score_pair("books", twin) == pytest.approx(
        engine.score_pair("books", "invoices"), abs=1e-6
    )
    rows, cols, scores = engine.score_matrix("sme")
    block = engine.score_block(rows, cols)
    assert np.allclose(np.clip(scores, 0, 1), block, atol=1e-6)


def test_identical_texts_still_score_one():
    engine = MatchEngine().fit([*SMES, *STARTUPS, Profile("twin", "sme", STARTUPS[0].text)])
    assert engine.score_pair("twin", "generic") == pytest.approx(1.0, abs=0.02)


def test_hub_weight_is_checked():
    with pytest.raises(ValueError, match="hub_weight"):
        fit(hub_weight=1.0)


def test_a_model_stored_before_the_correction_still_loads_and_scores():
    engine = fit(hub_weight=0.0)
    expected = [(s.ref, s.score) for s in engine.suggest_text("Rechnungen prüfen", "sme")]
    old = pickle.loads(pickle.dumps(engine))  # noqa: S301 (bytes this test just wrote)
    for name in ("hub_weight", "hub_k", "hub_smes_"):
        del old.__dict__[name]
    old = pickle.loads(pickle.dumps(old))  # noqa: S301 (bytes this test just wrote)
    assert old.get_params()["hub_weight"] == 0.0
    assert [(s.ref, s.score) for s in old.suggest_text("Rechnungen prüfen", "sme")] == expected


def test_the_hub_column_is_built_as_the_stacked_matrix():
    """The scaled vectors with the hub column equal ``[diag(scale) X | column]`` stacked by
    scipy, bit for bit: empty rows, explicit zeros, rows without the column included."""
    import scipy.sparse as sp

    from matchmaker.matching.engine.estimator import _scaled_with_column

    rng = np.random.default_rng(0)
    for trial in range(100):
        n, m = int(rng.integers(1, 25)), int(rng.integers(1, 15))
        dense = rng.random((n, m)).astype(np.float32)
        dense[dense < 0.6] = 0
        X = sp.csr_matrix(dense)
        if trial % 3 == 0 and X.nnz:
            X.data[rng.integers(0, X.nnz, size=max(1, X.nnz // 4))] = 0
        scale = 1 / (1 - 0.5 * rng.random(n) * (rng.random(n) < 0.5))
        column = np.where(rng.random(n) < 0.3, 0.0, -rng.random(n))
        column[rng.random(n) < 0.3] = 1.0
        want = sp.hstack(
            [sp.diags(scale) @ X, sp.csr_matrix(column[:, None])], format="csr", dtype=np.float32
        )
        want.sort_indices()
        got = _scaled_with_column(X, scale, column)
        assert got.shape == want.shape and got.dtype == want.dtype
        assert np.array_equal(got.indptr, want.indptr)
        assert np.array_equal(got.indices, want.indices)
        assert np.array_equal(got.data, want.data)
