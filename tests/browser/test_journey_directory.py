"""Journey: register, create an SME needs profile, find it in the directory by a German word."""

import pytest

pytestmark = pytest.mark.browser


def test_register_create_profile_and_find_it(page, assert_accessible):
    page.goto("/")
    assert_accessible(page)
    page.get_by_role("link", name="Registrieren").click()
    page.wait_for_url("**/account/register")
    assert_accessible(page)
    page.get_by_label("Ihr Name").fill("Katrin Noack")
    page.get_by_label("E-Mail-Adresse").fill("k.noack@abwasser-lausitz.example")
    page.get_by_label("Passwort", exact=True).fill("sicheres-passwort-42")
    page.get_by_label("Passwort wiederholen").fill("sicheres-passwort-42")
    page.get_by_role("button", name="Konto anlegen").click()
    page.get_by_text("Willkommen! Ihr Konto wurde angelegt.").wait_for()

    page.get_by_role("link", name="Bedarfsprofil anlegen").click()
    page.get_by_label("Name der Organisation", exact=True).wait_for()
    assert_accessible(page)
    page.get_by_label("KMU: Wir suchen KI-Lösungen").check()
    page.get_by_label("Name der Organisation", exact=True).fill("Abwasserzweckverband Lausitz")
    page.get_by_label("Branche", exact=True).select_option("environment")
    page.get_by_label("Ort", exact=True).fill("Senftenberg")
    page.get_by_label("Beschäftigte", exact=True).fill("85")
    page.get_by_label("Beschreibung", exact=True).fill(
        "Wir prüfen jedes Jahr tausende Eingangsrechnungen von Hand und wollen die "
        "Instandhaltung unserer Pumpwerke besser planen."
    )
    page.get_by_label("Buchhaltung und Finanzen").check()
    page.get_by_label("Ich willige ein", exact=False).check()
    page.get_by_role("button", name="Profil speichern").click()
    page.get_by_text("Das Profil wurde angelegt.").wait_for()
    assert page.get_by_role("heading", name="Abwasserzweckverband Lausitz").is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Verzeichnis").click()
    page.get_by_label("Suchen", exact=True).fill("Rechnung")
    page.get_by_role("button", name="Anzeigen").click()
    page.get_by_text("1 Profil gefunden").wait_for()
    assert_accessible(page)
    page.get_by_role("link", name="Abwasserzweckverband Lausitz").click()
    assert "Eingangsrechnungen" in page.content()


def test_keyboard_only_search(page):
    page.goto("/directory")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Zum Inhalt springen"
    page.get_by_label("Suchen", exact=True).focus()
    page.keyboard.type("Wartung")
    page.keyboard.press("Enter")
    page.wait_for_url("**/directory?q=Wartung*")
    assert "Wartung" in page.url
