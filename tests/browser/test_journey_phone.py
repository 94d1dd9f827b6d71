"""Journey on a phone (390 px wide): the menu, the member's agenda, the organisers' grid.

Screenshots go to ``$JOURNEY_SCREENSHOTS`` (default: the test's tmp directory) to be looked at.
"""

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "demo-passwort"
MEMBER = "mitglied@ki-tag-lausitz.example"
ORGANISER = "orga@ki-tag-lausitz.example"
WIDTH = 390


@pytest.fixture
def demo(live_app):
    """Load the demo: booked-out event with a published schedule and the member's agenda."""
    with live_app.app_context():
        result = live_app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return live_app


@pytest.fixture
def shots(tmp_path) -> Path:
    """Return the directory the journey's screenshots are written to."""
    folder = Path(os.environ.get("JOURNEY_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def phone(browser, demo):
    """A German browser page the size of a phone."""
    context = browser.new_context(
        locale="de-DE",
        base_url=demo.config["LIVE_URL"],
        viewport={"width": WIDTH, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def log_in(page, email: str) -> None:
    page.goto("/account/login")
    page.get_by_label("E-Mail-Adresse", exact=True).fill(email)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_text("Sie sind angemeldet.").wait_for()
    # the style sheets too: the header is measured next, and before them it is unstyled
    page.wait_for_load_state()


def page_width(page) -> int:
    """Return how wide the page's content is (more than the viewport: it scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth")


def log_out(page) -> None:
    page.locator(".nav-compact > summary").click()
    page.locator(".nav-compact").get_by_role("button", name="Abmelden").click()


def test_member_agenda_and_organiser_grid_on_a_phone(phone, shots, assert_accessible):
    page = phone
    log_in(page, MEMBER)

    # The navigation is one line: a menu that opens without any script.
    header = page.locator(".site-header").bounding_box()
    assert header["height"] < 80, header
    assert page.locator(".nav-wide").is_hidden()
    page.screenshot(path=shots / "phone-1-header.png")
    page.locator(".nav-compact > summary").click()
    menu_link = page.locator(".nav-compact").get_by_role("link", name="Meine Agenda")
    assert menu_link.is_visible()
    page.screenshot(path=shots / "phone-2-menu-open.png")
    assert_accessible(page)
    menu_link.click()

    page.get_by_role("link", name="KI-Tag Lausitz 2027", exact=False).click()
    page.locator("table.agenda").wait_for()
    page.wait_for_load_state()  # the style sheets too: layout measured before them is unstyled
    assert page_width(page) <= WIDTH
    # Every row is a card: each cell, including the reason, lies inside the screen.
    for cell in page.locator("table.agenda td").all():
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 0.5, cell.inner_text()
    why = page.locator("table.agenda td[data-label='Warum Sie sich treffen']")
    assert why.count() >= 2
    assert page.get_by_text("Anfrage von KI-Werkstatt Lausitz GmbH").is_visible()
    assert page.locator("table.agenda tr.break-row").get_by_text("Mittagspause").is_visible()
    page.screenshot(path=shots / "phone-3-agenda.png", full_page=True)
    assert_accessible(page)
    log_out(page)

    log_in(page, ORGANISER)
    page.goto("/events")
    page.get_by_role("link", name="KI-Tag Lausitz 2027").first.click()
    page.locator("a[href$='/schedule']").click()
    grid = page.locator(".grid-scroll")
    grid.wait_for()
    page.wait_for_load_state()
    # The page does not scroll sideways; the grid scrolls inside its own box.
    assert page_width(page) <= WIDTH
    assert grid.evaluate("g => g.scrollWidth > g.clientWidth + 1000")
    grid.scroll_into_view_if_needed()
    page.screenshot(path=shots / "phone-4-grid.png")
    slot = page.locator(".schedule-grid tbody th.slot-col").first
    left_before = slot.bounding_box()["x"]
    grid.evaluate("g => { g.scrollLeft = 700; }")
    page.wait_for_function("document.querySelector('.grid-scroll').scrollLeft >= 700")
    assert abs(slot.bounding_box()["x"] - left_before) < 1  # the slot column stays
    cells = page.locator(".schedule-grid td.meeting-cell")
    assert cells.count() >= 30
    assert page.locator(".schedule-grid td.level-high").count() >= 1
    assert page.locator(".schedule-grid .side-sme").count() >= 30
    assert page.locator(".schedule-grid .side-startup").count() >= 30
    lunch = page.locator(".schedule-grid tr.break-row th").get_by_text("Mittagspause")
    lunch.scroll_into_view_if_needed()
    assert lunch.is_visible()  # the break's name scrolls along in the slot column
    page.screenshot(path=shots / "phone-5-grid-scrolled.png")
    assert_accessible(page)


def test_organiser_dashboard_and_reminder_preview_on_a_phone(phone, shots, assert_accessible):
    """Open the event's dashboard, preview a reminder, send it, and see when it was sent."""
    page = phone
    log_in(page, ORGANISER)
    page.goto("/events")
    page.get_by_role("link", name="KI-Tag Lausitz 2027").first.click()
    page.locator("a[href$='/dashboard']").click()
    page.locator("table#sides").wait_for()
    page.wait_for_load_state()
    assert page_width(page) <= WIDTH
    # the demo's event is booked out and its schedule published
    assert "veröffentlichten Version" in page.locator("#counted-version").inner_text()
    assert page.locator("#distribution tbody tr").count() >= 2
    assert int(page.locator("#requests-sent").inner_text()) >= 1
    page.screenshot(path=shots / "phone-6-dashboard.png", full_page=True)
    assert_accessible(page)

    page.locator("#last-reminders").get_by_text("noch nicht erinnert").first.wait_for()
    page.get_by_label("Teilnehmende, die noch keine Terminanfrage gesendet haben").check()
    page.get_by_role("button", name="Zeigen, wer sie bekommt").click()
    page.locator("#recipient-count").wait_for()
    page.wait_for_load_state()
    assert page_width(page) <= WIDTH
    rows = page.locator("table#recipients tbody tr")
    count = rows.count()
    assert count >= 1
    assert f"{count} teilnehmende Organisation" in page.locator("#recipient-count").inner_text()
    for cell in page.locator("table#recipients td").all():
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 0.5, cell.inner_text()
    page.screenshot(path=shots / "phone-7-reminder-preview.png", full_page=True)
    assert_accessible(page)

    page.locator("form[action$='/reminders'] button").click()
    page.wait_for_url("**/jobs/*")
    page.locator("#job[data-status=finished]").wait_for(timeout=120_000)
    assert page.locator("#job-error").count() == 0
    page.locator("a[href$='/dashboard']").click()
    assert "zuletzt erinnert am" in page.locator("#last-reminders").inner_text()
