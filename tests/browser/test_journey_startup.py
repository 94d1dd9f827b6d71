"""Journey: a startup lists a solution and sees the matching SMEs with reasons."""

import pytest

from matchmaker.directory import services
from matchmaker.extensions import db
from matchmaker.matching import artefacts

pytestmark = pytest.mark.browser


@pytest.fixture
def smes(live_app):
    with live_app.app_context():
        for name, text in [
            (
                "Tischlerei Kowalski",
                "Wir tippen jede Eingangsrechnung von Hand in die Buchhaltung ab.",
            ),
            ("Kulturhaus Guben", "Wir suchen Hilfe bei Plakaten und Social-Media-Texten."),
        ]:
            services.create_profile(
                "sme", {"name": name, "city": "Guben", "description": text}, owner=None
            )
        db.session.commit()
        # the model the worker would fit; the startup, new since, is matched against it
        artefacts.refit()


def test_startup_lists_solution_and_sees_matching_smes(page, smes, assert_accessible):
    page.goto("/account/register")
    page.get_by_label("Ihr Name", exact=True).fill("Jonas Richter")
    page.get_by_label("E-Mail-Adresse", exact=True).fill("jonas@belegfix.example")
    page.get_by_label("Passwort", exact=True).fill("startup-passwort-1")
    page.get_by_label("Passwort wiederholen", exact=True).fill("startup-passwort-1")
    page.get_by_role("button", name="Konto anlegen").click()

    page.get_by_role("link", name="Startup-Profil anlegen").click()
    page.get_by_label("Startup: Wir bieten KI-Lösungen an").check()
    page.get_by_label("Name der Organisation", exact=True).fill("BelegFix")
    page.get_by_label("Ort", exact=True).fill("Cottbus")
    page.get_by_label("Beschreibung", exact=True).fill(
        "KI für kleine Betriebe: wir automatisieren die Finanzbuchhaltung."
    )
    page.get_by_label("Ich willige ein", exact=False).check()
    page.get_by_role("button", name="Profil speichern").click()
    page.get_by_text("Das Profil wurde angelegt.").wait_for()

    page.get_by_role("link", name="Lösung hinzufügen").click()
    page.get_by_label("Titel", exact=True).wait_for()
    assert_accessible(page)
    page.get_by_label("Titel", exact=True).fill("Belegerfassung per Foto")
    page.get_by_label("Was sie leistet und für wen", exact=True).fill(
        "Liest Rechnungen und Quittungen per Smartphone aus und bucht sie nach DATEV."
    )
    page.get_by_label("Buchhaltung und Finanzen").check()
    page.get_by_role("button", name="Lösung speichern").click()
    page.get_by_text("Die Lösung wurde gespeichert.").wait_for()

    assert_accessible(page)
    suggestions = page.locator(".suggestions")
    suggestions.get_by_role("heading", name="Vorgeschlagene KMU").wait_for()
    first = suggestions.locator(".suggestion").first
    assert "Tischlerei Kowalski" in first.inner_text()
    reasons = first.locator(".reasons").inner_text()
    assert "rechnung" in reasons.lower() or "buchhaltung" in reasons.lower()

    first.get_by_role("link", name="Warum dieser Vorschlag?").click()
    page.locator("mark").first.wait_for()
    assert page.locator("mark").count() >= 2
    assert_accessible(page)
