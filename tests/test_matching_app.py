"""Matching in the app: suggestions with reasons, explanations, overview, API, CLI.

The stored models (artefacts), refits and the pending state are in test_matching_artefacts.py.
"""

import csv
import io
import json
import re
from pathlib import Path

import pytest
from babel.numbers import format_percent
from statement_log import Statement, recorded_statements

from matchmaker.extensions import db
from matchmaker.matching import services

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def pair(make_profile, fit_model):
    sme = make_profile(
        kind="sme",
        name="Stadtwerke Spremberg",
        external_ref="sw-1",
        description="Wir prüfen jeden Monat 1.500 Eingangsrechnungen von Hand und buchen sie.",
    )
    startup = make_profile(
        kind="startup",
        name="BelegKI",
        description="Unsere KI liest Rechnungen und Belege aus und übergibt Buchungen an DATEV.",
        tags=["Belegerfassung", "Buchhaltung"],
    )
    make_profile(
        kind="startup",
        name="VFX Werk",
        description="Wir rendern Animationen und Compositing für Filmproduktionen.",
    )
    fit_model()  # what the refit job does after these commits
    return sme, startup


def test_profile_page_shows_suggestions_with_reasons(client, pair):
    sme, _startup = pair
    page = client.get(f"/profiles/{sme.id}").get_data(as_text=True)
    assert "Vorgeschlagene Startups" in page
    assert page.index("BelegKI") < page.index("Warum dieser Vorschlag?")
    section = page[page.index("suggestions-heading") :]
    assert "Rechnung" in section or "Eingangsrechnungen" in section
    assert "VFX Werk" not in section.split("</section>")[0] or section.index(
        "BelegKI"
    ) < section.index("VFX Werk")


def test_suggestions_show_calibrated_levels_and_scores_only_to_organisers(
    client, pair, make_user, login
):
    sme, startup = pair
    best = services.suggestions_for(sme)[0]
    assert best.profile.id == startup.id
    assert best.level == services.cache().get().engine.level(best.score) != ""
    label = {"very_good": "sehr passend", "good": "passend", "possible": "vielleicht"}
    section = client.get(f"/profiles/{sme.id}").get_data(as_text=True)
    section = section[section.index("suggestions-heading") :].split("</section>")[0]
    assert f'class="level level-{best.level}">{label[best.level]}<' in section
    assert f"{best.score:.2f}" not in section and "%" not in section
    login(make_user(organiser=True))
    section = client.get(f"/profiles/{sme.id}").get_data(as_text=True)
    # organisers see the score on the one scale of every page: a German percentage
    shown = format_percent(best.score, locale="de")
    assert shown in section[section.index("suggestions-heading") :]


def test_startup_page_shows_smes(client, pair):
    _sme, startup = pair
    page = client.get(f"/profiles/{startup.id}").get_data(as_text=True)
    assert "Vorgeschlagene KMU" in page
    assert "Stadtwerke Spremberg" in page


def test_explanation_highlights_shared_concepts(client, pair):
    sme, startup = pair
    response = client.get(f"/matches/{sme.id}/{startup.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<mark" in page
    assert "Stadtwerke Spremberg" in page and "BelegKI" in page
    assert 'class="level level-' in page and " %</strong>" not in page


@pytest.mark.parametrize("url", ["/matches/{sme}/{sme}", "/matches/{sme}/99999"])
def test_explanation_404(client, pair, url):
    sme, _startup = pair
    assert client.get(url.format(sme=sme.id)).status_code == 404


def test_explanation_escapes_text(client, make_profile, fit_model):
    sme = make_profile(kind="sme", description="<script>alert(1)</script> Rechnungen prüfen")
    startup = make_profile(kind="startup", description="Rechnungen automatisch prüfen <b>KI</b>")
    fit_model()
    page = client.get(f"/matches/{sme.id}/{startup.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_api_suggestions(client, pair):
    response = client.get("/api/v1/profiles/sw-1/suggestions?limit=2")
    assert response.status_code == 200
    data = response.get_json()
    assert data["ref"] == "sw-1" and data["kind"] == "sme"
    top = data["suggestions"][0]
    assert top["name"] == "BelegKI"
    assert 0 < top["score"] <= 1
    assert top["reasons"] and all(isinstance(r, str) for r in top["reasons"])
    assert len(data["suggestions"]) <= 2


def test_api_by_internal_id(client, pair):
    _sme, startup = pair
    data = client.get(f"/api/v1/profiles/{startup.id}/suggestions").get_json()
    assert data["suggestions"][0]["ref"] == "sw-1"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/profiles/nope/suggestions", 404),
        ("/api/v1/profiles/sw-1/suggestions?limit=0", 400),
        ("/api/v1/profiles/sw-1/suggestions?limit=abc", 400),
        ("/api/v1/profiles/sw-1/suggestions?limit=51", 400),
    ],
)
def test_api_errors_are_json(client, pair, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert response.is_json
    assert response.get_json()["status"] == status


@pytest.mark.parametrize(
    ("role", "status"), [("anonymous", 302), ("member", 403), ("organiser", 200)]
)
@pytest.mark.parametrize(
    "url", ["/organiser/matches", "/organiser/matches.csv", "/organiser/unmatched"]
)
def test_organiser_pages_access(client, login, make_user, pair, role, status, url):
    if role != "anonymous":
        login(make_user(organiser=role == "organiser"))
    assert client.get(url).status_code == status


def test_overview_lists_pairs_and_exports_csv(client, login, make_user, pair):
    login(make_user(organiser=True))
    page = client.get("/organiser/matches?threshold=5").get_data(as_text=True)
    assert "Stadtwerke Spremberg" in page and "BelegKI" in page
    response = client.get("/organiser/matches.csv?threshold=5")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0]["sme"] == "Stadtwerke Spremberg" and rows[0]["startup"] == "BelegKI"
    assert float(rows[0]["score"]) > 0.05
    high = client.get("/organiser/matches.csv?threshold=99").get_data(as_text=True)
    assert len(high.strip().splitlines()) == 1  # header only
    filtered = client.get("/organiser/matches.csv?threshold=5&sector=energy")
    assert len(filtered.get_data(as_text=True).strip().splitlines()) == 1


def test_overview_pages_through_many_pairs_with_their_reasons(
    app, client, login, make_user, runner, fit_model
):
    runner.invoke(args=["import-profiles", str(DATA / "matching-dev.json")])
    # many weak pairs to page through: without the hubness correction, which takes the weak
    # pairs of generic offers below the engine's floor
    app.config["MATCHING_PARAMS"] = {"hub_weight": 0.0}
    fit_model()
    login(make_user(organiser=True))
    csv_text = client.get("/organiser/matches.csv?threshold=0").get_data(as_text=True)
    everything = list(csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff"))))
    assert len(everything) > 150  # more than one page of 100
    first = client.get("/organiser/matches?threshold=0").get_data(as_text=True)
    second = client.get("/organiser/matches?threshold=0&page=2").get_data(as_text=True)
    body = first[first.index("<tbody>") : first.index("</tbody>")]
    assert body.count("<tr>") == 100
    assert f"{len(everything)} Paare" in first  # the total, not the page
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert everything[100]["sme"] in second
    # the page words its rows as the engine's suggestions do (same reasons as the CSV)
    with app.app_context():
        engine = services.current_model().engine
        best = engine.top_k_all(k=50, direction="sme")
    top = everything[0]
    expected = next(s for s in best[top["sme_ref"]] if s.ref == top["startup_ref"])
    assert top["reasons"] == "; ".join(expected.reasons) and expected.reasons
    assert " · ".join(expected.reasons) in first
    assert client.get("/organiser/matches?page=0").status_code == 400
    assert client.get("/organiser/matches?page=x").status_code == 400


def _ids_in(statement: Statement) -> set[int]:
    values = statement.parameters
    values = values.values() if isinstance(values, dict) else values
    return {v for v in values if isinstance(v, int)}


def test_overview_reads_only_the_shown_pages_profiles(
    app, client, login, make_user, make_profile, runner, fit_model
):
    runner.invoke(args=["import-profiles", str(DATA / "matching-dev.json")])
    app.config["MATCHING_PARAMS"] = {"hub_weight": 0.0}  # two full pages of pairs, as above
    fit_model()
    login(make_user(organiser=True))
    url = "/organiser/matches?threshold=0&page=2"
    client.get(url)  # the worker has loaded the model
    db.session.expire_all()
    with recorded_statements() as statements:
        page = client.get(url).get_data(as_text=True)
    assert page.count("<tr>") == 101  # the header and a full page
    # the model fitted every profile as it is: no profile's texts are read at all
    assert not [s for s in statements if "profiles.description" in s.sql]

    late = make_profile(kind="sme", name="Nachzügler GmbH")  # a profile newer than the model
    db.session.expire_all()
    with recorded_statements() as statements:
        page = client.get(url).get_data(as_text=True)
    shown = {int(pid) for pid in re.findall(r'href="/profiles/(\d+)"', page)}
    texts = [s for s in statements if "profiles.description" in s.sql]
    # the shown page's profiles, and the SME changed since the fit (ranked from its input)
    assert texts and all(" IN (" in s.sql and _ids_in(s) <= shown | {late.id} for s in texts)
    assert len([s for s in statements if "profile_categories" in s.sql]) == 2


def test_overview_filters_by_the_smes_sector_and_any_use_case(
    client, login, make_user, runner, fit_model, tmp_path
):
    needs = "Wir prüfen jeden Monat 1.500 Eingangsrechnungen von Hand und buchen sie."
    offer = "Unsere KI liest Rechnungen und Belege aus und übergibt Buchungen an DATEV."
    document = {
        "smes": [
            {"id": "s-energy", "name": "Stadtwerke", "sector_code": "energy", "needs": needs},
            {
                "id": "s-retail",
                "name": "Kaufhaus",
                "sector_code": "retail",
                "needs": needs,
                "categories": ["bookkeeping"],
            },
        ],
        "startups": [
            {"id": "t-plain", "name": "BelegKI", "offering": offer},
            {
                "id": "t-solution",
                "name": "Rechnungsprofi",
                "offering": offer,
                "solutions": [
                    {
                        "title": "Belegleser",
                        "description": offer,
                        "categories": ["document_processing"],
                    }
                ],
            },
        ],
    }
    source = tmp_path / "profiles.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    assert runner.invoke(args=["import-profiles", str(source)]).exit_code == 0
    fit_model()
    login(make_user(organiser=True))

    def pairs(query: str) -> set[tuple[str, str]]:
        text = client.get(f"/organiser/matches.csv?threshold=0&{query}").get_data(as_text=True)
        rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        return {(row["sme_ref"], row["startup_ref"]) for row in rows}

    everything = {(a, b) for a in ("s-energy", "s-retail") for b in ("t-plain", "t-solution")}
    assert pairs("") == everything
    assert pairs("sector=energy") == {("s-energy", "t-plain"), ("s-energy", "t-solution")}
    assert pairs("category=bookkeeping") == {("s-retail", "t-plain"), ("s-retail", "t-solution")}
    assert pairs("category=document_processing") == {
        ("s-energy", "t-solution"),
        ("s-retail", "t-solution"),
    }
    assert pairs("sector=energy&category=bookkeeping") == set()
    page = client.get("/organiser/matches?threshold=0&sort=sme").get_data(as_text=True)
    assert page.index("Kaufhaus") < page.index("Stadtwerke")


@pytest.mark.parametrize(
    "query", ["threshold=101", "threshold=-1", "threshold=abc", "sort=x", "sector=mars"]
)
def test_overview_bad_parameters(client, login, make_user, pair, query):
    login(make_user(organiser=True))
    assert client.get(f"/organiser/matches?{query}").status_code == 400


def test_unmatched_page_names_profiles_without_good_match(client, login, make_user, pair):
    login(make_user(organiser=True))
    page = client.get("/organiser/unmatched?threshold=15").get_data(as_text=True)
    assert "VFX Werk" in page
    section = page[page.index("<tbody>") :]
    assert "BelegKI</a>" not in section


def test_match_export_cli(runner):
    runner.invoke(args=["import-profiles", str(DATA / "matching-dev.json")])
    result = runner.invoke(args=["match", "export", "--limit", "3", "--direction", "sme"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data) == 40
    first = data["dev-sme-01"]
    assert len(first) == 3
    assert set(first[0]) == {"ref", "score", "reasons"}
    assert first[0]["ref"].startswith("dev-st-")
    assert [r["score"] for r in first] == sorted((r["score"] for r in first), reverse=True)
    both = json.loads(runner.invoke(args=["match", "export", "--limit", "1"]).output)
    assert len(both) == 70


def test_match_evaluate_cli(runner):
    result = runner.invoke(args=["match", "evaluate", str(DATA / "matching-dev.json")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("engine")]
    assert len(lines) == 2
    sme_line = next(line for line in lines if "SME→startup" in line)
    ndcg, p3, mrr = (float(x) for x in sme_line.split()[2:5])
    assert ndcg >= 0.85 and mrr >= 0.85 and 0 < p3 <= 1
