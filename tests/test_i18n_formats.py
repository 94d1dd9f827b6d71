"""German pages count with correct plurals and write numbers the German way; one score scale."""

import re

from fixtures_events import (
    event_data,
    schedule_world,  # noqa: F401 (fixture)
)
from flask_babel import get_locale
from test_matching_app import pair  # noqa: F401 (fixture)

from matchmaker.events import registrations as events
from matchmaker.extensions import db
from matchmaker.scheduling import versions as scheduling

PERCENT_DE = re.compile(r"\b\d{1,3}\xa0%")  # Babel's German percent: "9 %" with a no-break space
ENGLISH_DECIMAL = re.compile(r"\b\d+\.\d\d?\b")  # "0.09", "16.40", "0.3"


def text_of(response) -> str:
    """Return a page's visible text with whitespace collapsed."""
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    # collapse ordinary whitespace only: the no-break space of "9 %" is part of the format
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" )", ")")


def test_seat_counts_use_singular_and_plural(client, login, make_user, make_profile):
    organiser = make_user(organiser=True)
    member = make_user()
    own = make_profile(owner=member, name="Bäckerei Müller GmbH")
    event = events.create_event(event_data(title="KI-Tag Lausitz", capacity=6))
    db.session.commit()
    login(member)
    client.post(
        f"/events/{event.id}/register",
        data={
            "profile_id": str(own.id),
            "attendees-0-name": "Anna Adler",
            "attendees-0-email": "anna@firma.example",
        },
    )
    detail = text_of(client.get(f"/events/{event.id}"))
    assert "bestätigt (1 Platz)" in detail
    assert "1 Plätze" not in detail
    assert "(1 Platz)" in text_of(client.get("/my/events"))
    assert "5 von 6 Plätzen sind frei" in text_of(client.get(f"/events/{event.id}/register"))

    for number in range(4):
        other = make_profile(name=f"Firma {number}")
        events.register(event.id, other, [(f"Person {number}", f"p{number}@firma.example")])
    db.session.commit()
    assert "1 von 6 Plätzen ist frei" in text_of(client.get(f"/events/{event.id}/register"))

    last, waiting = make_profile(name="Letzte GmbH"), make_profile(name="Wartende GmbH")
    events.register(event.id, last, [("Lea Letzte", "lea@firma.example")])
    events.register(event.id, waiting, [("Willi Wartend", "willi@firma.example")])
    db.session.commit()
    client.post("/account/logout")
    login(organiser)
    manage = text_of(client.get(f"/events/{event.id}/registrations"))
    assert "6 von 6 Plätzen belegt, 0 frei; Warteliste: 1 Anmeldung (1 Platz)." in manage
    assert "Bestätigt (6 Plätze)" in manage
    listing = text_of(client.get("/events"))
    assert "Warteliste: 1 Anmeldung" in listing and "1 Anmeldungen" not in listing


def test_scores_are_percentages_wherever_a_number_is_shown(
    client,
    login,
    make_user,
    pair,  # noqa: F811 (the imported fixture)
):
    sme, startup = pair
    # Members see a level, no number at all; organisers also see the score, in per cent.
    member_page = text_of(client.get(f"/profiles/{sme.id}"))
    assert not ENGLISH_DECIMAL.search(member_page[member_page.index("Vorgeschlagene") :])
    login(make_user(organiser=True))
    for url in (f"/profiles/{sme.id}", f"/matches/{sme.id}/{startup.id}"):
        page = client.get(url).get_data(as_text=True)
        scores = re.findall(r'<span class="score[^"]*"[^>]*>([^<]*)</span>', page)
        assert scores and all(PERCENT_DE.fullmatch(score) for score in scores), (url, scores)

    overview = text_of(client.get("/organiser/matches?threshold=5"))
    assert "Mindestpassung (%)" in overview
    row = overview[overview.index("BelegKI") :]
    assert PERCENT_DE.match(row[len("BelegKI ") :]), row[:60]
    assert not ENGLISH_DECIMAL.search(row)
    unmatched = text_of(client.get("/organiser/unmatched?threshold=15"))
    assert "unter 15\xa0%" in unmatched
    assert client.get("/organiser/matches?threshold=150").status_code == 400

    client.post("/language/en")
    english = client.get(f"/profiles/{sme.id}").get_data(as_text=True)
    scores = re.findall(r'<span class="score[^"]*"[^>]*>([^<]*)</span>', english)
    assert scores and all(re.fullmatch(r"\d{1,3}%", score) for score in scores), scores


def test_schedule_pages_use_the_decimal_comma(client, login, job, schedule_world):  # noqa: F811
    w = schedule_world
    login(w.organiser)
    job(f"/events/{w.event.id}/schedule/build")
    overview = text_of(client.get(f"/events/{w.event.id}/schedule"))
    total = re.search(r"Gesamtpassung (\S+)", overview).group(1)
    assert re.fullmatch(r"\d+,\d\d", total), total
    seconds = re.search(r"\((\S+) s\)", overview).group(1)
    assert re.fullmatch(r"\d+,\d", seconds), seconds
    assert "4 Zeitfenster zu 20 Minuten, 3 Tische" in overview
    db.session.expire_all()
    meeting = scheduling.latest_version(w.event).meetings[0]
    page = text_of(client.get(f"/events/{w.event.id}/schedule/meetings/{meeting.key}"))
    value = re.search(r"Wert im Terminplan (\S+)", page).group(1)
    assert re.fullmatch(r"\d+,\d\d", value), value


def test_each_language_is_parsed_once_per_process(app):
    locales = []
    for language in ("de", "en", "de"):
        # a request of its own, as in a worker (the test's app context would keep the locale)
        with app.app_context(), app.test_request_context(headers={"Accept-Language": language}):
            locales.append(get_locale())
    assert [str(locale) for locale in locales] == ["de", "en", "de"]
    assert locales[0] is locales[2]  # not parsed again for the next request
