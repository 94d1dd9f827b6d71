"""Browser harness: the app on a live loopback server, driven by Playwright in system Chromium."""

import threading

import pytest
from live_processes import start_worker, stop_worker
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def read_files_at_once(response):
    """Send a file's bytes instead of the open file.

    Werkzeug's development server does not close a streamed file when the browser drops the
    request half-way (Chromium does that to low-priority stylesheets when a page is left at
    once); the open file then fails the test as a ResourceWarning.
    """
    if response.direct_passthrough:
        close = getattr(response.response, "close", None)
        response.direct_passthrough = False
        body = b"".join(response.iter_encoded())
        if close is not None:
            close()
        response.set_data(body)
    return response


@pytest.fixture
def live_app(app_factory, tmp_path):
    """Serve a fresh app (CSRF on, as in production) on a free loopback port, with a job worker."""
    application = app_factory(WTF_CSRF_ENABLED=True, SERVER_NAME=None)
    application.after_request(read_files_at_once)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    application.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    # Keep the journeys quick; the solver returns its best schedule when the time is up.
    # The matching refit fits at once instead of waiting for more edits.
    worker = start_worker(
        application, tmp_path / "worker.log", SCHEDULE_TIME_LIMIT=5, MATCHING_REFIT_DELAY=0
    )
    yield application
    stop_worker(worker)
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_app):
    """A fresh browser page in German, pointed at the live app."""
    context = browser.new_context(locale="de-DE", base_url=live_app.config["LIVE_URL"])
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def axe():
    """The axe-core engine (bundled with axe-playwright-python, nothing is downloaded)."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def assert_accessible(axe):
    """Return a check that fails on serious or critical axe-core findings on a page."""

    def check(page) -> None:
        # A click that follows a link returns before the next page has loaded; a test waits
        # for something on the new page first, and axe runs on a fully loaded document.
        page.wait_for_load_state("load")
        results = axe.run(page)
        severe = [
            violation
            for violation in results.response["violations"]
            if violation.get("impact") in ("serious", "critical")
        ]
        details = "\n".join(
            f"{v['id']} ({v['impact']}): {v['help']} – "
            + "; ".join(node["target"][0] for node in v["nodes"][:5])
            for v in severe
        )
        assert not severe, f"accessibility problems on {page.url}:\n{details}"

    return check
