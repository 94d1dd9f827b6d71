"""One matching model, shared: fitted by a job per data version, stored, loaded by every worker.

Web requests never fit: an edit enqueues one (coalesced) refit job, requests meanwhile use the
previous artefact, and the edited profile's own suggestions come from its new text vectorised
with that artefact. Failing refits leave the previous artefact in use.
"""

import pytest
from sqlalchemy import func, select

from matchmaker.directory import services as directory
from matchmaker.extensions import db
from matchmaker.jobs import queue as rq_side
from matchmaker.jobs.worker import work
from matchmaker.matching import services
from matchmaker.matching.models import ModelArtefact

REFIT = "matchmaker.jobs.tasks.refit"
INVOICES = "Wir prüfen jeden Monat 1.500 Eingangsrechnungen von Hand und buchen sie."
ENERGY = "Wir wollen den Verbrauch unserer Solarparks und Windanlagen genau vorhersagen."


@pytest.fixture
def directory_world(make_profile, fit_model):
    """An SME about invoices, an invoice startup and an energy startup, fitted once."""
    sme = make_profile(kind="sme", name="Stadtwerke Spremberg", description=INVOICES)
    make_profile(
        kind="startup",
        name="BelegKI",
        description="Unsere KI liest Rechnungen und Belege aus und bucht sie in DATEV.",
    )
    make_profile(
        kind="startup",
        name="Prognosewerk",
        description="Energieprognosen für Solarparks und Windanlagen: Verbrauch und Einspeisung.",
    )
    fit_model()
    return sme


def artefact_ids() -> list[int]:
    db.session.expire_all()
    return list(db.session.scalars(select(ModelArtefact.id).order_by(ModelArtefact.id)))


def queued_refits(app) -> int:
    return sum(1 for job in rq_side.queue(app).jobs if job.func_name == REFIT)


def suggested_names(client, profile_id: int) -> list[str]:
    data = client.get(f"/api/v1/profiles/{profile_id}/suggestions").get_json()
    assert data["pending"] is False
    return [s["name"] for s in data["suggestions"]]


def edit(profile, description: str) -> None:
    directory.update_profile(profile, {"description": description})
    db.session.commit()


def test_an_edit_enqueues_one_refit_and_requests_answer_from_the_previous_model(
    app, client, directory_world, run_jobs
):
    sme = directory_world
    (first,) = artefact_ids()
    assert queued_refits(app) == 1  # three profiles created: one refit waits for them
    run_jobs()  # they find the model current and fit nothing
    assert artefact_ids() == [first] and queued_refits(app) == 0
    assert suggested_names(client, sme.id)[0] == "BelegKI"

    edit(sme, ENERGY)
    edit(sme, ENERGY + " Auch Stromspeicher.")  # a burst of edits ...
    assert queued_refits(app) == 1  # ... waits for one refit
    # the request fits nothing: the same artefact answers, and the edited profile's own
    # suggestions already follow its new text (vectorised with the stored model)
    assert suggested_names(client, sme.id)[0] == "Prognosewerk"
    page = client.get(f"/profiles/{sme.id}").get_data(as_text=True)
    assert page.index("Prognosewerk") < page.index("Warum dieser Vorschlag?")
    assert artefact_ids() == [first]
    explained = client.get(f"/matches/{sme.id}/{sme.id + 2}").get_data(as_text=True)
    assert "Solarparks" in explained and "<mark" in explained

    run_jobs()
    ids = artefact_ids()
    assert len(ids) == 2 and ids[0] == first and queued_refits(app) == 0
    newest = db.session.get(ModelArtefact, ids[-1])
    assert newest.profile_count == 3 and newest.data_version > 0
    assert services.current_model().artefact_id == newest.id
    assert suggested_names(client, sme.id)[0] == "Prognosewerk"
    edit(sme, ENERGY + " Und Netzlast.")  # the next change enqueues the next refit
    assert queued_refits(app) == 1


def test_a_profiles_suggestions_are_computed_once_per_artefact(
    client, directory_world, monkeypatch
):
    sme = directory_world
    model = services.current_model()
    asked = []
    suggest = model.engine.suggest

    def counted(item, k=10):
        asked.append(item)
        return suggest(item, k=k)

    monkeypatch.setattr(model.engine, "suggest", counted)
    assert suggested_names(client, sme.id)[0] == "BelegKI"
    assert suggested_names(client, sme.id)[0] == "BelegKI"
    page = client.get(f"/profiles/{sme.id}").get_data(as_text=True)
    assert "BelegKI" in page
    assert len(asked) == 2  # one list of 10 (the API's default), one of 5 (the page)
    edit(sme, ENERGY)  # changed since the fit: its own suggestions follow the new text
    assert suggested_names(client, sme.id)[0] == "Prognosewerk"
    assert suggested_names(client, sme.id)[0] == "Prognosewerk"
    page = client.get(f"/profiles/{sme.id}").get_data(as_text=True)
    assert page.index("Prognosewerk") < page.index("Warum dieser Vorschlag?")
    assert len(asked) == 4  # once per k for the new text, kept by the text's fingerprint
    edit(sme, "Wir suchen eine KI, die Rechnungen und Belege ausliest.")  # the next text ...
    assert suggested_names(client, sme.id)[0] == "BelegKI"  # ... is computed, never stale
    assert suggested_names(client, sme.id)[0] == "BelegKI"
    assert len(asked) == 5


def test_two_apps_on_one_database_share_one_artefact(app_factory, app, directory_world, run_jobs):
    sme = directory_world
    other = app_factory()
    with app.test_request_context():
        mine = services.current_model()
        here = [s.profile.name for s in services.suggestions_for(sme)]
    with other.app_context():
        theirs = services.current_model()
        there = [s.profile.name for s in services.suggestions_for(db.session.merge(sme))]
    assert mine.artefact_id == theirs.artefact_id and mine is not theirs
    assert here == there
    # a new profile arrives through the first app; the job fits once for both
    with app.app_context():
        directory.create_profile(
            "startup", {"name": "OCR Profis", "description": INVOICES}, owner=None
        )
        db.session.commit()
    run_jobs()
    newest = artefact_ids()[-1]
    for application in (app, other):
        with application.app_context():
            assert services.current_model().artefact_id == newest
            names = [s.profile.name for s in services.suggestions_for(db.session.merge(sme))]
            assert "OCR Profis" in names
            assert services.cache().loads == 2  # loaded each artefact once, fitted none


def test_a_failing_refit_leaves_the_previous_model_in_use(
    app, app_factory, client, directory_world
):
    sme = directory_world
    (first,) = artefact_ids()
    edit(sme, ENERGY)
    # a worker whose engine settings make every fit fail
    broken = app_factory(JOBS_QUEUE=app.config["JOBS_QUEUE"], MATCHING_PARAMS={"nope": 1})
    with broken.app_context():
        work(broken, burst=True, in_process=True)
    assert rq_side.queue(app).failed_job_registry.count >= 1
    assert artefact_ids() == [first]
    assert suggested_names(client, sme.id)[0] == "Prognosewerk"
    edit(sme, INVOICES)  # the failed job let go of its mark: the next change asks again
    assert queued_refits(app) == 1


def test_before_the_first_model_pages_say_suggestions_are_being_computed(
    app, client, make_profile, run_jobs
):
    sme = make_profile(kind="sme", description=INVOICES)
    startup = make_profile(kind="startup", description="Rechnungen auslesen mit KI.")
    assert artefact_ids() == []
    page = client.get(f"/profiles/{sme.id}")
    assert page.status_code == 200
    assert "Vorschläge werden berechnet" in page.get_data(as_text=True)
    data = client.get(f"/api/v1/profiles/{sme.id}/suggestions").get_json()
    assert data["pending"] is True and data["suggestions"] == []
    explain = client.get(f"/matches/{sme.id}/{startup.id}", follow_redirects=True)
    assert explain.status_code == 200
    assert "Vorschläge werden berechnet" in explain.get_data(as_text=True)
    assert artefact_ids() == []  # none of these requests fitted
    run_jobs()
    assert len(artefact_ids()) == 1
    assert "Vorschläge werden berechnet" not in client.get(f"/profiles/{sme.id}").get_data(
        as_text=True
    )


def test_a_worker_asks_for_a_refit_when_the_model_is_older_than_the_data(app, make_profile):
    make_profile(kind="sme", description=INVOICES)
    rq_side.queue(app).empty()  # as if the job had been lost
    work(app, burst=True, in_process=True)
    assert len(artefact_ids()) == 1


def test_old_artefacts_are_pruned(app, fit_model, make_profile):
    app.config["MATCHING_ARTEFACTS_KEPT"] = 2
    make_profile(kind="sme", description=INVOICES)
    for _ in range(4):
        fit_model(force=True)
    ids = artefact_ids()
    assert len(ids) == 2 and ids[-1] == ids[0] + 1
    assert fit_model() is None  # current: nothing to fit
    assert db.session.scalar(select(func.count()).select_from(ModelArtefact)) == 2


def test_a_newer_model_loads_in_the_background_while_requests_use_the_loaded_one(
    app_factory, directory_world, fit_model
):
    sme = directory_world
    web = app_factory(MATCHING_LOAD_IN_BACKGROUND=True)
    with web.app_context():
        first = services.current_model().artefact_id  # nothing loaded yet: loads at once
        edit(db.session.merge(sme), ENERGY)
        fit_model()
        assert services.current_model().artefact_id == first  # still the loaded one
        services.cache().wait(30)
        assert services.current_model().artefact_id > first


def test_fit_command_and_demo_style_first_start(runner, make_profile):
    make_profile(kind="sme", description=INVOICES)
    result = runner.invoke(args=["match", "fit"])
    assert result.exit_code == 0, result.output
    assert "Matching model fitted on 1 profiles" in result.output
    assert "up to date" in runner.invoke(args=["match", "fit"]).output
    assert len(artefact_ids()) == 1
