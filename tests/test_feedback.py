"""Feedback: "passt"/"passt nicht" on suggestions, meeting ratings, the organisers' counts,
the re-ranker trained on it (job and CLI), and the feedback in the privacy export/deletion."""

import re
from datetime import timedelta

import pytest
from csrf_forms import csrf_token, log_in_with_csrf
from fixtures_events import publish, schedule_world  # noqa: F401 (fixture)
from flask import render_template
from sqlalchemy import func, select

from matchmaker.core import clock
from matchmaker.events import wishes
from matchmaker.extensions import db
from matchmaker.matching import feedback as matching_feedback
from matchmaker.matching import services as matching
from matchmaker.matching.models import ReRankerArtefact, SuggestionMark
from matchmaker.privacy import services as privacy
from matchmaker.scheduling import feedback, versions
from matchmaker.scheduling.models import MeetingRating

MUELLER = "Bäckerei Müller GmbH"
RECHNUNG = "RechnungsKI Dresden"
STADTWERKE = "Stadtwerke Spremberg"
PUMPS = "Predictive Pumps Berlin"


def page(response) -> str:
    """Return a page's text with tags removed and white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def verdict_url(profile, other) -> str:
    """Return where the owner of ``profile`` marks the suggestion ``other``."""
    return f"/profiles/{profile.id}/suggestions/{other.id}/verdict"


def verdict_of(profile, other) -> str | None:
    """Return the stored verdict of a profile on a suggestion."""
    db.session.expire_all()
    return matching_feedback.verdicts_of(profile).get(other.id)


# -- "passt" / "passt nicht" on suggestions ---------------------------------------------------


@pytest.fixture
def sme_and_startup(make_user, make_profile, fit_model):
    """An SME owned by a member, a startup its page suggests, and a second member."""
    owner = make_user(email="owner@example.de")
    sme = make_profile(kind="sme", owner=owner, name="Bäckerei Test")
    startup = make_profile(
        kind="startup",
        name="RechnungsKI Test",
        description="Automatische Erfassung von Eingangsrechnungen, Buchhaltung mit KI.",
    )
    fit_model()  # what the refit job does after these commits
    return owner, sme, startup


def test_the_owner_marks_a_suggestion_and_takes_it_back(client, login, sme_and_startup):
    owner, sme, startup = sme_and_startup
    login(owner)
    detail = client.get(f"/profiles/{sme.id}").get_data(as_text=True)
    assert verdict_url(sme, startup) in detail
    assert 'value="fits"' in detail and 'aria-pressed="false"' in detail

    response = client.post(verdict_url(sme, startup), data={"verdict": "fits"})
    assert response.status_code == 302
    assert verdict_of(sme, startup) == "fits"
    shown = client.get(response.headers["Location"])
    assert "Vermerkt: RechnungsKI Test passt." in page(shown)
    assert 'value="fits" class="" aria-pressed="true"' in shown.get_data(as_text=True)

    client.post(verdict_url(sme, startup), data={"verdict": "no_fit"})
    assert verdict_of(sme, startup) == "no_fit"
    client.post(verdict_url(sme, startup), data={"verdict": "no_fit"})  # pressed again: back
    assert verdict_of(sme, startup) is None
    assert db.session.scalar(select(func.count()).select_from(SuggestionMark)) == 0


def test_only_the_owner_may_mark_suggestions(client, login, make_user, sme_and_startup):
    _owner, sme, startup = sme_and_startup
    url = verdict_url(sme, startup)
    anonymous = client.post(url, data={"verdict": "fits"})
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    assert "/verdict" not in client.get(f"/profiles/{sme.id}").get_data(as_text=True)
    for user in (make_user(), make_user(organiser=True)):
        client.post("/account/logout")
        login(user)
        assert "Abmelden" in page(client.get("/"))
        assert client.post(url, data={"verdict": "fits"}).status_code == 403
        assert "/verdict" not in client.get(f"/profiles/{sme.id}").get_data(as_text=True)
    assert verdict_of(sme, startup) is None


def test_bad_verdicts_are_refused_in_german(client, login, make_profile, sme_and_startup):
    owner, sme, startup = sme_and_startup
    login(owner)
    response = client.post(
        verdict_url(sme, startup), data={"verdict": "vielleicht"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "Bitte „passt“ oder „passt nicht“ wählen." in page(response)
    other_sme = make_profile(kind="sme", name="Andere Firma")
    same_side = client.post(
        verdict_url(sme, other_sme), data={"verdict": "fits"}, follow_redirects=True
    )
    assert "Nur Vorschläge der anderen Seite können markiert werden." in page(same_side)
    assert (
        client.post(
            f"/profiles/{sme.id}/suggestions/99999/verdict", data={"verdict": "fits"}
        ).status_code
        == 404
    )
    assert verdict_of(sme, startup) is None and verdict_of(sme, other_sme) is None


def test_a_verdict_needs_the_csrf_token(app, sme_and_startup):
    owner, sme, startup = sme_and_startup
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    log_in_with_csrf(client, owner.email)
    refused = client.post(
        verdict_url(sme, startup), data={"verdict": "fits"}, follow_redirects=True
    )
    assert "Das Formular ist abgelaufen" in page(refused)
    assert verdict_of(sme, startup) is None
    token = csrf_token(client.get(f"/profiles/{sme.id}").get_data(as_text=True))
    client.post(verdict_url(sme, startup), data={"verdict": "fits", "csrf_token": token})
    assert verdict_of(sme, startup) == "fits"


# -- ratings after meetings -------------------------------------------------------------------


@pytest.fixture
def published(schedule_world, client, login, job):  # noqa: F811 (the imported fixture)
    """The bakery agreed to meet RechnungsKI; the schedule is built and published."""
    w = schedule_world
    p = w.profiles
    request = wishes.send_meeting_request(w.event, p[RECHNUNG], p[MUELLER], "Gern!")
    wishes.answer_request(request, accept=True)
    db.session.commit()
    login(w.organiser)
    assert "finished" in job(f"/events/{w.event.id}/schedule/build")
    assert "finished" in publish(client, job, w.event.id)[1]
    client.post("/account/logout")
    db.session.expire_all()
    return w


def meeting_of(w, name: str):
    """Return the published meeting of the bakery with ``name``."""
    version = versions.published_version(w.event)
    return next(
        m for m in version.meetings if m.involves(w.pid(MUELLER)) and m.involves(w.pid(name))
    )


def after_the_event(w) -> None:
    """Move the event to yesterday: every slot has begun."""
    w.event.date = clock.local_now().date() - timedelta(days=1)
    db.session.commit()


def rate_url(w, key: str, name: str = MUELLER) -> str:
    """Return the rating page of a meeting for one participant."""
    return f"/events/{w.event.id}/agenda/{w.pid(name)}/meetings/{key}/rating"


def test_a_participant_rates_a_meeting_after_it_began_and_changes_it(client, login, published):
    w = published
    meeting = meeting_of(w, RECHNUNG)
    login(w.owner)
    agenda_url = f"/events/{w.event.id}/agenda/{w.pid(MUELLER)}"
    assert "nach dem Treffen" in page(client.get(agenda_url))
    early = client.post(rate_url(w, meeting.key), data={"stars": "5"})
    assert early.status_code == 400
    assert "Sie können dieses Treffen bewerten, sobald es begonnen hat." in page(early)

    after_the_event(w)
    assert "Treffen bewerten" in page(client.get(agenda_url))
    form = client.get(rate_url(w, meeting.key))
    assert form.status_code == 200 and "Wie war Ihr Treffen mit RechnungsKI Dresden?" in page(form)
    assert f"Zeitfenster {meeting.slot} ·" in page(form) and "Slot" not in page(form)
    saved = client.post(rate_url(w, meeting.key), data={"stars": "4", "follow_up": "y"})
    assert saved.status_code == 302
    assert "Danke, Ihre Bewertung wurde gespeichert." in page(client.get(saved.headers["Location"]))
    rating = db.session.scalars(select(MeetingRating)).one()
    assert (rating.stars, rating.follow_up, rating.partner_profile_id) == (4, True, w.pid(RECHNUNG))
    assert "★★★★ 4 Sterne · Folgetermin vereinbart" in page(client.get(agenda_url))

    assert 'value="4" checked' in client.get(rate_url(w, meeting.key)).get_data(as_text=True)
    client.post(rate_url(w, meeting.key), data={"stars": "2"})
    db.session.expire_all()
    rating = db.session.scalars(select(MeetingRating)).one()
    assert (rating.stars, rating.follow_up) == (2, False)


@pytest.mark.parametrize("stars", ["0", "6", "abc", "", "-3", "4.5", "²", "99999999999999999999"])
def test_an_invalid_rating_is_refused_in_german(client, login, published, stars):
    w = published
    after_the_event(w)
    login(w.owner)
    response = client.post(rate_url(w, meeting_of(w, RECHNUNG).key), data={"stars": stars})
    assert response.status_code == 400
    assert "Bitte vergeben Sie 1 bis 5 Sterne." in page(response)
    assert db.session.scalar(select(func.count()).select_from(MeetingRating)) == 0


def test_only_the_participants_of_a_meeting_may_rate_it(client, login, make_user, published):
    w = published
    after_the_event(w)
    key = meeting_of(w, RECHNUNG).key
    anonymous = client.post(rate_url(w, key), data={"stars": "5"})
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    # another member and an organiser who do not own the bakery's profile
    for user in (w.other, w.organiser):
        client.post("/account/logout")
        login(user)
        assert client.get(rate_url(w, key)).status_code == 403
        assert client.post(rate_url(w, key), data={"stars": "5"}).status_code == 403
    # the owner, but for a meeting the bakery does not take part in, or an unknown one
    client.post("/account/logout")
    login(w.owner)
    version = versions.published_version(w.event)
    foreign = next(m for m in version.meetings if not m.involves(w.pid(MUELLER)))
    assert client.post(rate_url(w, foreign.key), data={"stars": "5"}).status_code == 404
    assert client.post(rate_url(w, "no-such-meeting"), data={"stars": "5"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(MeetingRating)) == 0


def test_a_rating_needs_the_csrf_token(app, published):
    w = published
    after_the_event(w)
    url = rate_url(w, meeting_of(w, RECHNUNG).key)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    log_in_with_csrf(client, w.owner.email)
    assert client.post(url, data={"stars": "5"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(MeetingRating)) == 0
    token = csrf_token(client.get(url).get_data(as_text=True))
    assert client.post(url, data={"stars": "5", "csrf_token": token}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(MeetingRating)) == 1


# -- the organisers' counts -------------------------------------------------------------------


def test_organisers_see_the_feedback_of_their_event(client, login, make_user, published):
    w = published
    p = w.profiles
    before = feedback.event_summary(w.event)
    assert before.ratings == 0 and before.mean is None and not before.fits
    wishes.set_mark(w.event, p[STADTWERKE], p[RECHNUNG], "not_interested")
    after_the_event(w)
    meeting = meeting_of(w, RECHNUNG)
    feedback.rate_meeting(w.event, meeting.key, p[MUELLER], 5, True)
    feedback.rate_meeting(w.event, meeting.key, p[RECHNUNG], 2, False)
    matching_feedback.toggle_verdict(p[MUELLER], p[PUMPS], "no_fit")
    matching_feedback.toggle_verdict(p[STADTWERKE], p[PUMPS], "fits")
    matching_feedback.toggle_verdict(p[STADTWERKE], p[RECHNUNG], "fits")
    db.session.commit()

    summary = feedback.event_summary(w.event)
    assert (summary.fits, summary.no_fit) == (2, 1)
    assert summary.ratings == 2 and summary.distribution == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert summary.mean == pytest.approx(3.5) and summary.follow_ups == 1
    assert (summary.requests_accepted, summary.requests_declined) == (1, 0)
    assert (summary.must_meet, summary.not_interested) == (0, 1)

    login(w.organiser)
    shown = client.get(f"/events/{w.event.id}/feedback")
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert re.search(r'id="feedback-fits">2<', text) and re.search(r'id="feedback-no-fit">1<', text)
    assert re.search(r'id="feedback-mean">3,5 / 5<', text)
    assert re.search(r'id="feedback-follow-ups">1<', text)
    assert re.search(r'data-stars="5">1<', text) and re.search(r'data-stars="3">0<', text)
    assert f"/events/{w.event.id}/feedback" in client.get(
        f"/events/{w.event.id}/registrations"
    ).get_data(as_text=True)
    # the organisers' dashboard shows the same counts
    board = client.get(f"/events/{w.event.id}/dashboard").get_data(as_text=True)
    assert re.search(r'id="feedback-fits">2<', board) and re.search(
        r'id="feedback-mean">3,5 / 5<', board
    )
    client.post("/account/logout")
    login(w.owner)
    assert client.get(f"/events/{w.event.id}/feedback").status_code == 403


def test_the_summary_partial_renders_on_its_own(app, schedule_world):  # noqa: F811
    w = schedule_world
    # the partial needs nothing but `summary`: the dashboard can include it as it is
    with app.test_request_context():
        html = render_template(
            "events/_feedback_summary.html", summary=feedback.event_summary(w.event)
        )
    assert "Noch keine Rückmeldungen." in html


# -- privacy ----------------------------------------------------------------------------------


def test_feedback_is_exported_and_deleted_with_the_account(published):
    w = published
    p = w.profiles
    after_the_event(w)
    meeting = meeting_of(w, RECHNUNG)
    feedback.rate_meeting(w.event, meeting.key, p[MUELLER], 4, True)
    feedback.rate_meeting(w.event, meeting.key, p[RECHNUNG], 5, False)
    matching_feedback.toggle_verdict(p[MUELLER], p[PUMPS], "fits")
    matching_feedback.toggle_verdict(p[RECHNUNG], p[MUELLER], "fits")
    matching_feedback.toggle_verdict(p[STADTWERKE], p[PUMPS], "fits")
    db.session.commit()

    data = privacy.personal_data(w.owner)
    assert data["suggestion_verdicts"] == [
        {
            "profile_id": w.pid(MUELLER),
            "suggested_profile_id": w.pid(PUMPS),
            "verdict": "fits",
            "updated_at": data["suggestion_verdicts"][0]["updated_at"],
        }
    ]
    assert [
        (r["stars"], r["follow_up"], r["partner_profile_id"]) for r in data["meeting_ratings"]
    ] == [(4, True, w.pid(RECHNUNG))]

    privacy.delete_account(w.owner)
    db.session.commit()
    # the bakery's own feedback and what others said about it are gone; the rest stays
    left_marks = db.session.execute(
        select(SuggestionMark.viewer_profile_id, SuggestionMark.suggested_profile_id)
    ).all()
    assert left_marks == [(w.pid(STADTWERKE), w.pid(PUMPS))]
    assert db.session.scalar(select(func.count()).select_from(MeetingRating)) == 0


# -- the re-ranker ----------------------------------------------------------------------------

RECHNUNG_TEXTS = [
    "Automatische Erfassung von Eingangsrechnungen, Buchhaltung mit KI, Belege und Kontierung.",
    "Eingangsrechnungen automatisch erfassen und buchen, KI für die Buchhaltung.",
    "KI liest Eingangsrechnungen und Belege für Ihre Buchhaltung.",
    "Rechnungen und Belege digital erfassen; Buchhaltung mit künstlicher Intelligenz.",
    "Belegerfassung und Rechnungsprüfung mit KI für die Buchhaltung im Mittelstand.",
]


@pytest.fixture
def reranking_world(app, make_profile, fit_model):
    """Twelve Lausitz SMEs needing invoice AI; ten invoice startups, half of them in Lausitz.

    The engine puts the five startups with the fuller texts (not in Lausitz) first.
    """
    app.config.update(RERANK_MIN_PAIRS=50)
    need = "Wir suchen KI für unsere Eingangsrechnungen, Belege und die Buchhaltung."
    smes = [
        make_profile(kind="sme", name=f"Lausitzer Firma {i}", region="Lausitz", description=need)
        for i in range(12)
    ]
    startups = []
    for i in range(10):
        text = RECHNUNG_TEXTS[i % 5]
        local = i >= 5
        if local:
            text = text.split(",")[0] + "."  # a shorter text: a lower engine score
        startups.append(
            make_profile(
                kind="startup",
                name=f"{'Lausitz' if local else 'Bayern'} Start {i}",
                region="Lausitz" if local else "Bayern",
                description=text,
            )
        )
    fit_model()
    return smes, startups


def local_first_signals(smes, startups) -> list:
    """Every SME says: the startups of its own region fit, the others do not."""
    return [
        matching_feedback.Signal(
            sme.id, startup.id, int(startup.region == sme.region), "suggestion"
        )
        for sme in smes
        for startup in startups
    ]


def test_the_reranker_reorders_once_trained_on_consistent_feedback(reranking_world):
    smes, startups = reranking_world
    newcomer = smes[-1]  # gave no feedback itself
    before = [s.profile.name for s in matching.suggestions_for(newcomer, k=5)]
    assert len(before) == 5 and not all(name.startswith("Lausitz") for name in before)

    outcome = matching_feedback.train(local_first_signals(smes[:-1], startups))
    db.session.commit()
    assert outcome.trained and (outcome.pairs, outcome.positives) == (110, 55)

    after = [s.profile.name for s in matching.suggestions_for(newcomer, k=5)]
    assert after != before
    assert all(name.startswith("Lausitz") for name in after), after
    # scores and reasons stay the engine's
    engine_scores = {s.profile.name: s.score for s in matching.suggestions_for(newcomer, k=10)}
    assert all(
        engine_scores[s.profile.name] == s.score for s in matching.suggestions_for(newcomer, k=5)
    )


def test_below_the_minimum_the_engines_order_stays(reranking_world):
    smes, startups = reranking_world
    newcomer = smes[-1]
    before = [s.profile.id for s in matching.suggestions_for(newcomer, k=5)]
    few = local_first_signals(smes[:4], startups)  # 40 pairs < 50
    outcome = matching_feedback.train(few)
    one_class = [s for s in local_first_signals(smes[:-1], startups) if s.label == 1]
    assert not matching_feedback.train(one_class).trained  # 55 pairs, all "fits"
    db.session.commit()
    assert not outcome.trained and outcome.pairs == 40
    assert db.session.scalar(select(func.count()).select_from(ReRankerArtefact)) == 0
    assert [s.profile.id for s in matching.suggestions_for(newcomer, k=5)] == before


def test_every_worker_loads_the_stored_reranker(app_factory, reranking_world):
    smes, startups = reranking_world
    matching_feedback.train(local_first_signals(smes[:-1], startups))
    db.session.commit()
    expected = [s.profile.id for s in matching.suggestions_for(smes[-1], k=5)]
    # a second app is a second worker: nothing in memory, the artefact comes from the database
    other = app_factory()
    with other.app_context():
        newcomer = db.session.get(type(smes[-1]), smes[-1].id)
        assert [s.profile.id for s in matching.suggestions_for(newcomer, k=5)] == expected
        assert matching.cache().reranker() is not None


def test_signals_of_every_kind_label_pairs(published):
    w = published
    p = w.profiles
    declined = wishes.send_meeting_request(w.event, p[PUMPS], p[STADTWERKE], "")
    wishes.answer_request(declined, accept=False)
    wishes.set_mark(w.event, p[STADTWERKE], p[RECHNUNG], "must_meet")
    after_the_event(w)
    meeting = meeting_of(w, RECHNUNG)
    feedback.rate_meeting(w.event, meeting.key, p[MUELLER], 2, False)  # low stars
    feedback.rate_meeting(w.event, meeting.key, p[RECHNUNG], 3, False)  # neutral: no signal
    matching_feedback.toggle_verdict(p[MUELLER], p[RECHNUNG], "fits")
    db.session.commit()
    pairs = matching_feedback.labelled_pairs(feedback.all_signals())
    assert pairs == {
        # the rating outranks the accepted request and the verdict
        (w.pid(MUELLER), w.pid(RECHNUNG)): 0,
        (w.pid(STADTWERKE), w.pid(PUMPS)): 0,
        (w.pid(STADTWERKE), w.pid(RECHNUNG)): 1,
    }


def test_training_runs_as_a_job_and_from_the_command_line(
    client, login, make_user, run_jobs, runner, reranking_world
):
    smes, startups = reranking_world
    for sme in smes[:4]:  # 40 verdicts: below the minimum
        for startup in startups:
            verdict = "fits" if startup.region == sme.region else "no_fit"
            matching_feedback.toggle_verdict(sme, startup, verdict)
    db.session.commit()
    result = runner.invoke(args=["match", "train-reranker"])
    assert result.exit_code == 0 and "Labelled pairs: 40 (20 fit, 20 do not fit)." in result.output
    assert "Not enough feedback" in result.output

    organiser = make_user(organiser=True)
    member = make_user()
    login(member)
    assert client.post("/organiser/reranker/train").status_code == 403
    client.post("/account/logout")
    login(organiser)
    for sme in smes[4:8]:
        for startup in startups:
            matching_feedback.toggle_verdict(
                sme, startup, "fits" if startup.region == sme.region else "no_fit"
            )
    db.session.commit()
    response = client.post("/organiser/reranker/train")
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    run_jobs()
    shown = page(client.get(response.headers["Location"]))
    assert "Bewertete Paare: 80 (40 passen, 40 passen nicht)." in shown
    assert "Ein neuer Re-Ranker wurde trainiert" in shown
    assert db.session.scalar(select(func.count()).select_from(ReRankerArtefact)) == 1
    result = runner.invoke(args=["match", "train-reranker"])
    assert "Re-ranker 2 stored" in result.output
