"""Journey: register until full, land on the waiting list, cancel one seat, see the promotion.

Then the promoted registration is cancelled as a whole, through its confirmation page.
"""

import pytest
from test_events_services import event_data

from matchmaker.accounts.services import create_user
from matchmaker.directory import services as directory
from matchmaker.events import registrations
from matchmaker.extensions import db

pytestmark = pytest.mark.browser
PASSWORD = "veranstaltung-123"


@pytest.fixture
def world(live_app):
    with live_app.app_context():
        event = registrations.create_event(event_data(title="KI-Tag Lausitz", capacity=2))
        for email, name in [
            ("a@firma.example", "Metallbau Kühn"),
            ("b@firma.example", "Spreewald-Hof"),
        ]:
            user = create_user(email, name, PASSWORD)
            directory.create_profile(
                "sme", {"name": name, "city": "Cottbus", "description": "KI für Rechnungen."}, user
            )
        db.session.commit()
        return event.id


def log_in(page, email):
    page.goto("/account/login")
    page.get_by_label("E-Mail-Adresse", exact=True).fill(email)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_text("Sie sind angemeldet.").wait_for()


def register(page, event_id, people):
    page.goto(f"/events/{event_id}/register")
    for index, (name, email) in enumerate(people):
        row = page.get_by_role("group", name=f"Person {index + 1}")
        row.get_by_label("Name", exact=True).fill(name)
        row.get_by_label("E-Mail", exact=True).fill(email)
    page.get_by_role("button", name="Verbindlich anmelden").click()


def test_waiting_list_promotion(browser, live_app, world):
    base = live_app.config["LIVE_URL"]
    first = browser.new_context(locale="de-DE", base_url=base).new_page()
    second = browser.new_context(locale="de-DE", base_url=base).new_page()

    log_in(first, "a@firma.example")
    register(
        first, world, [("Anna Kühn", "anna@kuehn.example"), ("Bernd Kühn", "bernd@kuehn.example")]
    )
    first.get_by_text("Sie sind angemeldet.", exact=False).first.wait_for()
    assert "bestätigt" in first.locator(".status").inner_text()

    log_in(second, "b@firma.example")
    register(second, world, [("Clara Hof", "clara@hof.example")])
    second.get_by_text("Warteliste", exact=False).first.wait_for()
    assert "Warteliste, Platz 1" in second.locator(".status").inner_text()
    waiting_url = second.url

    first.get_by_role("link", name="Diesen Platz freigeben").first.click()
    first.get_by_role("button", name="Ja, stornieren").click()
    first.get_by_text("Der Platz wurde freigegeben.").wait_for()

    second.goto(waiting_url)
    assert "bestätigt" in second.locator(".status").inner_text()

    # Cancelling the whole registration asks first; "No" keeps it, "Yes" cancels.
    second.get_by_role("link", name="Gesamte Anmeldung stornieren").click()
    second.get_by_role("heading", name="Wirklich stornieren?").wait_for()
    second.get_by_role("link", name="Nein, behalten").click()
    assert "bestätigt" in second.locator(".status").inner_text()
    second.get_by_role("link", name="Gesamte Anmeldung stornieren").click()
    second.get_by_role("button", name="Ja, stornieren").click()
    second.get_by_text("Die Anmeldung wurde storniert.").wait_for()
