"""A build job scores and words reasons with a model of the current profiles (issue #14)."""

import re

import pytest
from fixtures_events import publish, schedule_world  # noqa: F401 (fixture)
from statement_log import recorded_statements
from test_directory_profiles import SME_FORM

from matchmaker.directory.indexing import current_version
from matchmaker.extensions import db
from matchmaker.scheduling import building, versions

MUELLER = "Bäckerei Müller GmbH"
NEW_NEEDS = "Wir wollen die Wartung unserer Backöfen mit Sensordaten vorausschauend planen."


@pytest.fixture
def world(schedule_world):  # noqa: F811 (the imported fixture)
    """The small schedule event (the bakery needs help with its incoming invoices)."""
    return schedule_world


def rewrite_needs(client, w) -> None:
    """Let the (logged-in) organiser rewrite the bakery's needs through the edit form."""
    data = dict(SME_FORM, name=MUELLER, description=NEW_NEEDS, categories=[], tags="")
    data.pop("kind")
    data.pop("consent")
    assert client.post(f"/profiles/{w.pid(MUELLER)}/edit", data=data).status_code == 302


def test_a_build_after_a_profile_edit_refits_and_the_agenda_names_the_new_words(
    client, login, world, fit_model, job, run_jobs
):
    w = world
    fitted = fit_model()  # the model of the old texts ("Eingangsrechnungen", "Buchhaltung")
    run_jobs()  # the refit the world's profiles asked for finds the model current
    login(w.organiser)
    client.post("/language/en")
    # The organiser starts a build; the needs are rewritten before a worker takes the job
    # (the refit that the edit asks for is queued behind the build).
    started = client.post(f"/events/{w.event.id}/schedule/build")
    assert started.status_code == 302
    rewrite_needs(client, w)
    assert current_version() > fitted.data_version
    run_jobs()
    version = versions.latest_version(w.event)
    assert version.stats["model_version"] == current_version()
    mine = [m for m in version.meetings if w.pid(MUELLER) in (m.profile_a_id, m.profile_b_id)]
    assert mine
    publish(client, job, w.event.id)
    page = client.get(f"/events/{w.event.id}/agenda/{w.pid(MUELLER)}").get_data(as_text=True)
    lines = re.findall(r"Shared topics: [^<]*", page)
    assert len(lines) == len(mine), page
    assert any("Wartung" in line and "Sensordaten" in line for line in lines), lines
    assert not any("Eingangsrechnungen" in line or "Buchhaltung" in line for line in lines)


def test_with_a_model_behind_the_profiles_reasons_use_the_current_text(
    client, login, world, fit_model
):
    w = world
    fitted = fit_model()
    login(w.organiser)
    rewrite_needs(client, w)
    # A build with the model it finds (a refit not stored yet): changed profiles are scored
    # and worded pair by pair with their current text; the stats say which model was used.
    db.session.expire_all()  # the edit committed in the request's session
    version = building.build(w.event, w.organiser)
    assert version.stats["model_version"] == fitted.data_version < current_version()
    mine = [m for m in version.meetings if w.pid(MUELLER) in (m.profile_a_id, m.profile_b_id)]
    words = " ".join(reason for m in mine for reason in m.reasons)
    assert "Wartung" in words and "Sensordaten" in words
    assert "Eingangsrechnungen" not in words and "Buchhaltung" not in words


@pytest.mark.parametrize("behind", [False, True])
def test_a_build_reads_the_participants_profiles_once(world, fit_model, make_profile, behind):
    w = world
    fit_model()
    if behind:  # a profile newer than the model: the participants' texts are read and compared
        make_profile(kind="startup", name="Nicht angemeldet")
    db.session.expire_all()
    with recorded_statements() as statements:
        version = building.build(w.event, w.organiser)
    assert version.meetings and all(m.reasons for m in version.meetings if m.origin == "match")
    live_checks = [s for s in statements if "profiles.deleted_at IS NULL" in s.sql]
    texts = [s for s in statements if "profile_categories" in s.sql]
    assert len(live_checks) == 1
    assert len(texts) == (1 if behind else 0)
