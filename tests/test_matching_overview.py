"""The organisers' match overview: ranked once per model by the fit, never by a page.

The fit stores every SME's best startups next to the artefact; the overview's pages filter,
sort and word those pairs. An SME changed since the fit is ranked from its current input, as
on its own profile page; the next fit's ranking replaces the whole list.
"""

import csv
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, select
from statement_log import recorded_statements

from matchmaker.directory import services as directory
from matchmaker.extensions import db
from matchmaker.matching import artefacts, services
from matchmaker.matching.engine import MatchEngine
from matchmaker.matching.engine.calibration import load_levels
from matchmaker.matching.models import ModelArtefact, OverviewRanking

DATA = Path(__file__).resolve().parent / "data"
INVOICES = "Wir prüfen jeden Monat 1.500 Eingangsrechnungen von Hand und buchen sie."
ENERGY = "Wir wollen den Verbrauch unserer Solarparks und Windanlagen genau vorhersagen."
PREPARING = "Die Passungsübersicht wird vorbereitet"


@pytest.fixture
def world(make_profile, fit_model, make_user, login):
    """Two SMEs, two startups (invoices, energy), fitted once; an organiser logged in."""
    found = SimpleNamespace(
        invoices=make_profile(kind="sme", name="Stadtwerke Spremberg", description=INVOICES),
        energy=make_profile(kind="sme", name="Energiegenossenschaft Lausitz", description=ENERGY),
        belegki=make_profile(
            kind="startup",
            name="BelegKI",
            description="Unsere KI liest Rechnungen und Belege aus und bucht sie in DATEV.",
        ),
        prognose=make_profile(
            kind="startup",
            name="Prognosewerk",
            description="Energieprognosen für Solarparks und Windanlagen: Verbrauch, Einspeisung.",
        ),
    )
    fit_model()
    login(make_user(organiser=True))
    return found


@pytest.fixture
def rankings(monkeypatch) -> list[str]:
    """Record every time the engine ranks all SMEs (what the overview did on every request)."""
    calls: list[str] = []
    original = MatchEngine.top_k_all

    def counted(self, *args, **kwargs):
        calls.append(kwargs.get("direction", args[1] if len(args) > 1 else "sme"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MatchEngine, "top_k_all", counted)
    return calls


def csv_rows(client, query: str = "threshold=0") -> list[dict]:
    response = client.get(f"/organiser/matches.csv?{query}")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def best_of(rows: list[dict], sme_name: str) -> str:
    return next(row["startup"] for row in rows if row["sme"] == sme_name)


def newest_model():
    db.session.expire_all()
    return services.newest_model()


def expected_rows(model) -> set[tuple[str, str, float]]:
    """The pairs a fresh ranking with the model's engine gives (what the overview ranked)."""
    names = {p.id: p.name for p in artefacts.live_profiles()}
    best = model.engine.top_k_all(k=50, direction="sme", reasons=False)
    return {
        (names[model.ids[sme]], names[model.ids[s.ref]], round(s.score, 4))
        for sme, found in best.items()
        for s in found
    }


def shown_rows(rows: list[dict]) -> set[tuple[str, str, float]]:
    return {(row["sme"], row["startup"], round(float(row["score"]), 4)) for row in rows}


def test_requests_read_the_fits_ranking_and_never_rank(client, world, rankings):
    page = client.get("/organiser/matches?threshold=0").get_data(as_text=True)
    db.session.expire_all()
    with recorded_statements() as statements:
        again = client.get("/organiser/matches?threshold=0").get_data(as_text=True)
    assert rankings == []  # the fit ranked; neither request did
    pairs = len(expected_rows(newest_model()))
    assert f"{pairs} Paare" in page and again.count("<tr>") == page.count("<tr>") == pairs + 1
    # the ranking was read once for this artefact (by the first request), not again
    assert not [s for s in statements if "overview_rankings" in s.sql]
    # the live profiles are read once, narrow (no texts): the model fitted them as they are
    assert len([s for s in statements if "FROM profiles" in s.sql]) == 1
    assert not [s for s in statements if "profiles.description" in s.sql]


def test_a_page_sends_as_many_statements_with_seventy_more_profiles(
    client, world, rankings, runner, fit_model
):
    url = "/organiser/matches?threshold=0&sort=sme"
    client.get(url)
    db.session.expire_all()
    with recorded_statements() as small:
        client.get(url)
    runner.invoke(args=["import-profiles", str(DATA / "matching-dev.json")])
    fit_model()
    rankings.clear()
    client.get(url)
    db.session.expire_all()
    with recorded_statements() as large:
        page = client.get(url).get_data(as_text=True)
    assert page.count("<tr>") == 101  # a full page of a larger overview
    assert len(large) == len(small)
    assert rankings == []


def test_the_overview_follows_an_edit_at_once_and_the_next_fit(
    client, world, fit_model, make_profile, rankings
):
    before = csv_rows(client)
    first = newest_model()
    assert shown_rows(before) == expected_rows(first)
    assert best_of(before, "Stadtwerke Spremberg") == "BelegKI"

    # Before the next fit: the edited SME's pairs come from its new text, with the scores its
    # own suggestions show; a startup new since the fit is not ranked yet, as in suggestions;
    # a deleted one is gone at once.
    directory.update_profile(world.invoices, {"description": ENERGY + " Auch Stromspeicher."})
    late = make_profile(
        kind="startup", name="Speicherwerk", description="Stromspeicher für Solarparks."
    )
    directory.delete_profile(world.belegki)
    db.session.commit()
    edited = csv_rows(client)
    assert best_of(edited, "Stadtwerke Spremberg") == "Prognosewerk"
    suggested = client.get(f"/api/v1/profiles/{world.invoices.id}/suggestions").get_json()
    assert [(s["name"], s["score"]) for s in suggested["suggestions"]] == [
        (row["startup"], float(row["score"]))
        for row in edited
        if row["sme"] == "Stadtwerke Spremberg"
    ]
    assert {row["startup"] for row in edited} == {"Prognosewerk"}
    unchanged = [
        r for r in before if r["sme"] != "Stadtwerke Spremberg" and r["startup"] != "BelegKI"
    ]
    assert [r for r in edited if r["sme"] != "Stadtwerke Spremberg"] == unchanged
    assert rankings == ["sme"]  # this test's expected_rows; the edited SME was scored alone

    fit_model()  # what the refit job does after these commits
    second = newest_model()
    assert second.artefact_id != first.artefact_id
    after = csv_rows(client)
    assert shown_rows(after) == expected_rows(second)
    assert "Speicherwerk" in {row["startup"] for row in after}
    assert late.id in second.refs


def test_the_overview_is_prepared_while_its_ranking_is_missing(client, world, run_jobs):
    # an artefact stored before the overview was ranked by the fit (an upgrade)
    db.session.execute(delete(OverviewRanking))
    db.session.commit()
    assert not artefacts.is_current()
    page = client.get("/organiser/matches?threshold=0")
    assert page.status_code == 200
    assert PREPARING in page.get_data(as_text=True) and "<tbody>" not in page.get_data(True)
    response = client.get("/organiser/matches.csv?threshold=0")
    assert response.status_code == 302 and "/organiser/matches" in response.headers["Location"]
    assert PREPARING in client.get(response.headers["Location"]).get_data(as_text=True)

    (artefact,) = db.session.scalars(select(ModelArtefact.id))
    run_jobs()  # the worker finds the newest artefact unranked and asks for a refit
    assert artefacts.is_current()
    assert list(db.session.scalars(select(ModelArtefact.id))) == [artefact]  # not refitted
    page = client.get("/organiser/matches?threshold=0").get_data(as_text=True)
    pairs = len(expected_rows(newest_model()))
    assert PREPARING not in page and f"{pairs} Paare" in page and pairs > 1


def test_rankings_are_pruned_with_their_artefacts(app, world, fit_model):
    app.config["MATCHING_ARTEFACTS_KEPT"] = 2
    for _ in range(3):
        fit_model(force=True)
    db.session.expire_all()
    kept = list(db.session.scalars(select(ModelArtefact.id).order_by(ModelArtefact.id)))
    ranked = db.session.scalars(select(OverviewRanking.artefact_id).order_by("artefact_id"))
    assert len(kept) == 2 and list(ranked) == kept
    assert db.session.scalar(select(func.count()).select_from(OverviewRanking)) == 2


def test_a_change_of_use_cases_or_solutions_alone_marks_the_profile_changed(make_profile):
    startup = make_profile(kind="startup", name="BelegKI", description="Belege auslesen.")
    db.session.commit()
    seen = [startup.updated_at]
    directory.update_profile(startup, {"categories": ["bookkeeping"]})
    db.session.commit()
    seen.append(startup.updated_at)
    solution = directory.save_solution(startup, {"title": "Belegleser", "description": "OCR"})
    db.session.commit()
    seen.append(startup.updated_at)
    directory.delete_solution(solution)
    db.session.commit()
    seen.append(startup.updated_at)
    assert seen == sorted(seen) and len(set(seen)) == 4


def test_the_overview_and_who_has_no_good_match_start_at_the_level_good(app, world, client):
    """The default floor of both pages is the calibrated level "passend", on any score scale."""
    good = round(load_levels()["good"], 2)  # a whole percentage, as scores are shown
    page = client.get("/organiser/matches").get_data(as_text=True)
    assert f'value="{good * 100:g}"' in page
    # the SME whose best pair is "passend" or better is not listed; one below it is
    scores = {u.profile.name: u.best.score if u.best else 0.0 for u in services.unmatched(1.0)}
    assert scores and all(score < 1.0 for score in scores.values())
    page = client.get("/organiser/unmatched").get_data(as_text=True)
    for name, score in scores.items():
        assert (name in page) == (score < good), name
    # a recalibrated table on another scale moves both defaults with it
    app.config["MATCHING_PARAMS"] = {
        "levels": {"thresholds": {"very_good": 0.99, "good": 0.98, "possible": 0.3}, "floor": 0.1}
    }
    assert 'value="98"' in client.get("/organiser/matches").get_data(as_text=True)
    page = client.get("/organiser/unmatched").get_data(as_text=True)
    assert all(name in page for name in scores) and "98" in page
