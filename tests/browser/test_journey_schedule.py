"""Journey: the organiser builds, publishes and prints the networking schedule of the demo event."""

import io

import pytest
from pypdf import PdfReader

pytestmark = pytest.mark.browser

ORGANISER = "orga@ki-tag-lausitz.example"
PASSWORD = "demo-passwort"
UMLAUT_NAMES = ("Kretschmer Präzisionsteile GmbH", "Bürgerlotse GmbH")


@pytest.fixture
def demo(live_app):
    """Load the demo: profiles, accounts and the booked-out KI-Tag Lausitz."""
    with live_app.app_context():
        result = live_app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return live_app


def wait_for_the_job(page) -> None:
    """Stay on the job page (it reloads itself) until the job is finished, then check it."""
    page.wait_for_url("**/jobs/*")
    page.locator("#job[data-status=finished]").wait_for(timeout=120_000)
    assert page.locator("#job-error").count() == 0


def test_organiser_builds_publishes_and_prints_the_schedule(page, demo, assert_accessible):
    page.goto("/account/login")
    page.get_by_label("E-Mail-Adresse", exact=True).fill(ORGANISER)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_text("Sie sind angemeldet.").wait_for()

    page.goto("/events")
    page.get_by_role("link", name="KI-Tag Lausitz 2027").first.click()
    # Links and buttons are found by where they lead, so the journey holds in both languages.
    page.locator("a[href$='/schedule']").click()
    page.locator("form[action$='/schedule/build'] button").click()
    wait_for_the_job(page)
    assert_accessible(page)
    page.locator("a[href$='/schedule']").click()
    page.locator("table.schedule-grid").wait_for()
    assert page.locator("table.schedule-grid td a[href*='/schedule/meetings/']").count() >= 30
    assert page.locator("#summary").is_visible()
    assert_accessible(page)

    # Publishing asks first. The demo's schedule is already published, so the new draft goes
    # to those whose meetings changed: the page names them, one row each, or says nobody.
    page.locator("a[href$='/schedule/publish']").click()
    page.locator("#recipient-count").wait_for()
    rows = page.locator("table#recipients tbody tr").count()
    assert ("Eine E-Mail geht an" in page.locator("#recipient-count").inner_text()) == (rows > 0)
    page.locator("form[action$='/schedule/publish'] button").click()
    wait_for_the_job(page)
    page.locator("a[href$='/schedule']").click()
    page.locator("table.schedule-grid").wait_for()
    assert page.locator("a[href$='/schedule/publish']").count() == 0  # nothing left to publish

    page.locator("a[href$='/schedule/print/agendas']").click()
    page.locator("section.agenda-sheet").first.wait_for()
    assert page.locator("section.agenda-sheet").count() == 38
    assert page.locator(".site-header").count() == 0
    text = page.locator("body").inner_text()
    assert all(name in text for name in UMLAUT_NAMES)
    assert_accessible(page)
    page.go_back()

    page.locator("form[action$='/schedule/agendas.pdf'] button").click()
    wait_for_the_job(page)
    with page.expect_download(timeout=120_000) as download_info:
        page.locator("#job-download").click()
    pdf = PdfReader(io.BytesIO(download_info.value.path().read_bytes()))
    assert len(pdf.pages) == 38
    pdf_text = " ".join(" ".join(p.extract_text().split()) for p in pdf.pages)
    assert all(name in pdf_text for name in UMLAUT_NAMES)


def test_schedule_pages_work_with_the_keyboard(page, demo):
    """Log in, open the event's schedule and build it with the keyboard alone."""
    page.goto("/account/login")
    page.get_by_label("E-Mail-Adresse", exact=True).focus()
    page.keyboard.type(ORGANISER)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_text("Sie sind angemeldet.").wait_for()
    page.goto("/events")
    page.get_by_role("link", name="KI-Tag Lausitz 2027").first.focus()
    page.keyboard.press("Enter")
    page.locator("a[href$='/schedule']").focus()
    page.keyboard.press("Enter")
    build = page.locator("form[action$='/schedule/build'] button")
    build.focus()
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"
    page.keyboard.press("Enter")
    wait_for_the_job(page)
    page.locator("a[href$='/schedule']").focus()
    page.keyboard.press("Enter")
    page.locator("table.schedule-grid").wait_for()
