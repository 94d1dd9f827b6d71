"""Authorisation of every route, generated from the app's URL map.

Each endpoint has an entry: how to build its URL, the method, and who may use it. Every
route × role (anonymous, the member who owns the objects, another member, an organiser) is
requested on a fresh copy of one prepared "world", and the answer is classified as allowed,
"log in first" (a redirect to the login page, or 401 for the API) or denied (403/404).
A route without an entry fails ``test_every_route_has_an_entry``.
"""

from dataclasses import dataclass
from datetime import time

import pytest
from sqlalchemy import select
from test_events_services import event_data

from matchmaker.app import create_app
from matchmaker.extensions import db
from tests.conftest import base_config, clone_database, template_from_uri

ROLES = ("anonymous", "owner", "other", "organiser")
PASSWORD = "geheimes-passwort"

# who may use a route: the expected class per role
PUBLIC = {"anonymous": "ok", "owner": "ok", "other": "ok", "organiser": "ok"}
MEMBERS = {"anonymous": "login", "owner": "ok", "other": "ok", "organiser": "ok"}
OWNER = {"anonymous": "login", "owner": "ok", "other": "deny", "organiser": "ok"}
OWNER_ONLY = {"anonymous": "login", "owner": "ok", "other": "deny", "organiser": "deny"}
SENDER = {"anonymous": "login", "owner": "deny", "other": "ok", "organiser": "ok"}
ORGANISERS = {"anonymous": "login", "owner": "deny", "other": "deny", "organiser": "ok"}


@dataclass(frozen=True)
class Route:
    """How to call an endpoint and who may."""

    path: str
    method: str
    access: dict
    data: dict | None = None


ROUTES: dict[tuple[str, str], Route] = {}


def route(endpoint: str, path: str, access: dict, method: str = "GET", data=None) -> None:
    ROUTES[(endpoint, method)] = Route(path, method, access, data)


# core, accounts, privacy
route("core.index", "/", PUBLIC)
route("core.health", "/healthz", PUBLIC)
route("core.set_language", "/language/en", PUBLIC, "POST")
route("core.audit_log", "/organiser/audit", ORGANISERS)
route("static", "/static/css/app.css", PUBLIC)
route("accounts.login", "/account/login", PUBLIC)
route("accounts.login", "/account/login", PUBLIC, "POST")
route("accounts.register", "/account/register", PUBLIC)
route("accounts.register", "/account/register", PUBLIC, "POST")
route("accounts.logout", "/account/logout", MEMBERS, "POST")
route("accounts.request_password_reset", "/account/password-reset", PUBLIC)
route("accounts.request_password_reset", "/account/password-reset", PUBLIC, "POST")
route("accounts.password_reset", "/account/password-reset/invalid", PUBLIC)
route("accounts.password_reset", "/account/password-reset/invalid", PUBLIC, "POST")
route("privacy.policy", "/privacy", PUBLIC)
route("privacy.my_data", "/account/data", MEMBERS)
route("privacy.export", "/account/data.json", MEMBERS)
route("privacy.delete_account", "/account/delete", MEMBERS, "POST")
route("tokens.index", "/account/tokens", MEMBERS)
route("tokens.create", "/account/tokens", MEMBERS, "POST", {"name": "CRM"})
route("tokens.revoke", "/account/tokens/{owner_token}/revoke", OWNER_ONLY, "POST")

# directory
route("directory.index", "/directory", PUBLIC)
route("directory.detail", "/profiles/{sme}", PUBLIC)
route("directory.my_profiles", "/my/profiles", MEMBERS)
route("directory.create", "/profiles/new", MEMBERS)
route("directory.create", "/profiles/new", MEMBERS, "POST")
route("directory.export_csv", "/directory/export.csv", ORGANISERS)
route("imports.upload", "/directory/import", ORGANISERS)
route("imports.upload", "/directory/import", ORGANISERS, "POST")
route("imports.preview", "/directory/import/{import_token}", ORGANISERS)
route("imports.confirm", "/directory/import/{import_token}", ORGANISERS, "POST")
for method in ("GET", "POST"):
    route("directory.edit", "/profiles/{sme}/edit", OWNER, method)
    route("directory.delete", "/profiles/{sme}/delete", OWNER, method)
    route("directory.create_solution", "/profiles/{startup}/solutions/new", OWNER, method)
    route("directory.edit_solution", "/solutions/{solution}/edit", OWNER, method)
    route("directory.delete_solution", "/solutions/{solution}/delete", OWNER, method)

# matching
route("matching.explain", "/matches/{sme}/{startup}", PUBLIC)
route("matching.overview", "/organiser/matches", ORGANISERS)
route("matching.overview_csv", "/organiser/matches.csv", ORGANISERS)
route("matching.unmatched", "/organiser/unmatched", ORGANISERS)
# only the profile's owner marks its suggestions (organisers neither)
route(
    "matching.verdict",
    "/profiles/{sme}/suggestions/{other_profile}/verdict",
    OWNER_ONLY,
    "POST",
    {"verdict": "fits"},
)

# events
route("events.index", "/events", PUBLIC)
route("events.detail", "/events/{event}", PUBLIC)
route("events.register", "/events/{event}/register", MEMBERS)
route("events.register", "/events/{event}/register", MEMBERS, "POST")
route("events.registration", "/registrations/{registration}", OWNER)
for method in ("GET", "POST"):
    route("events.cancel", "/registrations/{registration}/cancel", OWNER, method)
    route("events.cancel_attendee", "/attendees/{attendee}/cancel", OWNER, method)
    route("events.availability", "/events/{event}/profiles/{sme}/availability", OWNER, method)
    route("events.create", "/events/new", ORGANISERS, method)
    route("events.edit", "/events/{event}/edit", ORGANISERS, method)
route("events.meet", "/profiles/{other_profile}/meet", MEMBERS)
route("events.send_request", "/profiles/{other_profile}/meet/request", MEMBERS, "POST")
route("events.mark", "/profiles/{other_profile}/meet/mark", MEMBERS, "POST")
route("events.mine", "/my/events", MEMBERS)
route("events.requests", "/my/requests", MEMBERS)
route("events.answer", "/requests/{request}/answer", OWNER, "POST", {"accept": "1"})
route("events.withdraw", "/requests/{request}/withdraw", SENDER, "POST")
route("events.manage", "/events/{event}/registrations", ORGANISERS)
route("events.capacity", "/events/{event}/capacity", ORGANISERS, "POST", {"capacity": "30"})
route("events.move", "/registrations/{registration}/move", ORGANISERS, "POST")
route("events.attendance", "/attendees/{attendee}/attendance", ORGANISERS, "POST")
route("events.export_attendees", "/events/{event}/attendees.csv", ORGANISERS)
route("events.badges", "/events/{event}/badges", ORGANISERS)
route("events.scheduling_input", "/events/{event}/scheduling-input.json", ORGANISERS)
route("events.outbox", "/outbox", ORGANISERS)
route("events.outbox_send", "/outbox/send", ORGANISERS, "POST")

# schedules
route("scheduling.mine", "/agenda", MEMBERS)
route("scheduling.my_agenda", "/events/{event}/agenda/{sme}", OWNER)
route("scheduling.my_agenda_ics", "/events/{event}/agenda/{sme}.ics", OWNER)
# only a participant rates its meeting (organisers neither)
route("scheduling.rate", "/events/{event}/agenda/{sme}/meetings/{meeting}/rating", OWNER_ONLY)
route(
    "scheduling.rate",
    "/events/{event}/agenda/{sme}/meetings/{meeting}/rating",
    OWNER_ONLY,
    "POST",
    {"stars": "5"},
)
route("scheduling.feedback_summary", "/events/{event}/feedback", ORGANISERS)
route("scheduling.print_css", "/schedule-print.css", PUBLIC)
route("scheduling.overview", "/events/{event}/schedule", ORGANISERS)
route("scheduling.meeting", "/events/{event}/schedule/meetings/{meeting}", ORGANISERS)
for name, path in [
    ("scheduling.meetings_csv", "meetings.csv"),
    ("scheduling.print_agendas", "print/agendas"),
    ("scheduling.print_grid", "print/grid"),
    ("scheduling.print_tables", "print/tables"),
    ("scheduling.problem_json", "problem.json"),
    ("scheduling.schedule_json", "schedule.json"),
]:
    route(name, f"/events/{{event}}/schedule/{path}", ORGANISERS)
route("scheduling.add", "/events/{event}/schedule/add", ORGANISERS)
route("scheduling.publish", "/events/{event}/schedule/publish", ORGANISERS)
route(
    "scheduling.publish_recipients", "/events/{event}/schedule/publish/recipients.csv", ORGANISERS
)
route("scheduling.dashboard", "/events/{event}/dashboard", ORGANISERS)
route("scheduling.dashboard_csv", "/events/{event}/dashboard/without-meeting.csv", ORGANISERS)
route("scheduling.remind", "/events/{event}/reminders", ORGANISERS)
route("scheduling.remind", "/events/{event}/reminders", ORGANISERS, "POST")
route("scheduling.reminder_recipients", "/events/{event}/reminders/recipients.csv", ORGANISERS)
for name, path in [
    ("scheduling.add", "add"),
    ("scheduling.agendas_pdf", "agendas.pdf"),
    ("scheduling.build", "build"),
    ("scheduling.meeting_action", "meeting-action"),
    ("scheduling.move", "move"),
    ("scheduling.publish", "publish"),
    ("scheduling.reoptimise", "reoptimise"),
    ("scheduling.swap", "swap"),
]:
    route(name, f"/events/{{event}}/schedule/{path}", ORGANISERS, "POST")

# jobs (the world holds a finished PDF job with its file)
route("jobs.show", "/jobs/{job}", ORGANISERS)
route("jobs.status", "/jobs/{job}/status.json", ORGANISERS)
route("jobs.download", "/jobs/{job}/download", ORGANISERS)
route("jobs.cancel", "/jobs/{job}/cancel", ORGANISERS, "POST")
route("jobs.train_reranker", "/organiser/reranker/train", ORGANISERS, "POST")

# API (session-authenticated here; tokens are tested in test_api_*)
route("api.openapi_document", "/api/v1/openapi.json", PUBLIC)
route("api.taxonomy_terms", "/api/v1/taxonomy", PUBLIC)
route("api.profiles", "/api/v1/profiles", PUBLIC)
route("api.profile", "/api/v1/profiles/{sme_ref}", PUBLIC)
route("api.suggestions", "/api/v1/profiles/{sme_ref}/suggestions", PUBLIC)
route("api.event_list", "/api/v1/events", PUBLIC)
route("api.event_detail", "/api/v1/events/{event}", PUBLIC)
route("api.schedule", "/api/v1/events/{event}/schedule", MEMBERS)
route("api.registration", "/api/v1/registrations/{registration}", OWNER)
route("api.cancel_registration", "/api/v1/registrations/{registration}", OWNER, "DELETE")
route(
    "api.register",
    "/api/v1/events/{event}/registrations",
    OWNER,
    "POST",
    {"json": {"profile": "{startup_ref}", "attendees": [{"name": "Neu", "email": "n@x.example"}]}},
)
route(
    "api.send_meeting_request",
    "/api/v1/events/{event}/meeting-requests",
    OWNER,
    "POST",
    {"json": {"from": "{startup_ref}", "to": "{other_ref}", "message": "Hallo"}},
)
# the receiving profile's owner answers; organisers may answer on a participant's behalf
route("api.accept_meeting_request", "/api/v1/meeting-requests/{request}/accept", OWNER, "POST")
route("api.decline_meeting_request", "/api/v1/meeting-requests/{request}/decline", OWNER, "POST")


def build_world() -> dict:
    """Create users, profiles, an event with registrations, a request and a schedule."""
    from matchmaker.accounts.services import create_user
    from matchmaker.api import services as api_services
    from matchmaker.directory import importing
    from matchmaker.directory import services as directory
    from matchmaker.events import registrations, wishes
    from matchmaker.events.models import Attendee
    from matchmaker.jobs.models import FINISHED, Job, JobFile
    from matchmaker.scheduling import building, publishing

    organiser = create_user("orga@welt.example", "Orga", PASSWORD, organiser=True)
    owner = create_user("owner@welt.example", "Owner", PASSWORD)
    other = create_user("other@welt.example", "Other", PASSWORD)
    text = "Wir brauchen KI für Eingangsrechnungen und Buchhaltung."
    sme = directory.create_profile("sme", {"name": "Eigene GmbH", "description": text}, owner)
    startup = directory.create_profile(
        "startup", {"name": "Eigenes Startup", "description": "KI liest Rechnungen aus."}, owner
    )
    solution = directory.save_solution(startup, {"title": "Belege", "description": "Belege lesen."})
    other_profile = directory.create_profile(
        "startup", {"name": "Fremdes Startup", "description": "Buchhaltung mit KI."}, other
    )
    sme.external_ref, startup.external_ref, other_profile.external_ref = "w-sme", "w-st", "w-other"
    event = registrations.create_event(
        event_data(
            capacity=20,
            slot_count=3,
            morning_slots=0,
            breaks=[],
            table_count=3,
            first_slot=time(10, 0),
            max_meetings=3,
        )
    )
    db.session.flush()
    registration = registrations.register(event.id, sme, [("Eva Eigen", "eva@eigen.example")])
    registrations.register(event.id, other_profile, [("Fred Fremd", "fred@fremd.example")])
    request = wishes.send_meeting_request(event, other_profile, sme, "Treffen?")
    db.session.flush()
    version = building.build(event, organiser)
    publishing.publish(event, organiser)
    token, _secret = api_services.create_token(owner, "Test")
    staged = importing.stage_upload(
        organiser, "welt.csv", "id,name,needs\nw-import,Import GmbH,Belege prüfen.\n".encode()
    )
    job = Job(rq_id="world-pdf", kind="agendas_pdf", event_id=event.id, status=FINISHED)
    job.result = {"version": version.number, "pages": 2}
    db.session.add(job)
    db.session.flush()
    db.session.add(
        JobFile(job_id=job.id, filename="a.pdf", mimetype="application/pdf", data=b"%PDF")
    )
    db.session.commit()
    attendee = db.session.scalar(
        select(Attendee).where(Attendee.registration_id == registration.id)
    )
    return {
        "sme": sme.id,
        "startup": startup.id,
        "solution": solution.id,
        "other_profile": other_profile.id,
        "sme_ref": "w-sme",
        "startup_ref": "w-st",
        "other_ref": "w-other",
        "event": event.id,
        "registration": registration.id,
        "attendee": attendee.id,
        "request": request.id,
        "meeting": version.meetings[0].key if version.meetings else "none",
        "owner_token": token.id,
        "import_token": staged.token,
        "job": job.id,
        "emails": {
            "owner": owner.email,
            "other": other.email,
            "organiser": organiser.email,
        },
    }


@pytest.fixture(scope="session")
def world_template(database_template, tmp_path_factory):
    """A database holding the prepared world, to be cloned for each request."""
    directory = tmp_path_factory.mktemp("world")
    uri, _drop = clone_database(database_template, directory)
    app = create_app(base_config(uri) | {"SCHEDULE_TIME_LIMIT": 2.0, "SCHEDULE_WORKERS": 1})
    with app.app_context():
        ids = build_world()
        db.session.remove()
        db.engine.dispose()
    yield template_from_uri(database_template[0], uri), ids
    _drop()


def classify(response) -> str:
    """Sort a response into allowed, log in first, or denied."""
    status = response.status_code
    location = response.headers.get("Location", "")
    if status == 401 or (status == 302 and "/account/login" in location):
        return "login"
    if status in (403, 404):
        return "deny"
    assert status < 500, response.get_data(as_text=True)[:2000]
    return "ok"


def fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def test_every_route_has_an_entry():
    app = create_app(base_config("sqlite://"))
    missing = sorted(
        f"{rule.endpoint} {method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        if (rule.endpoint, method) not in ROUTES
    )
    assert not missing, "routes without an authorisation entry:\n" + "\n".join(missing)
    stale = sorted(
        f"{endpoint} {method}"
        for endpoint, method in ROUTES
        if endpoint not in {rule.endpoint for rule in app.url_map.iter_rules()}
    )
    assert not stale, "entries for routes that no longer exist:\n" + "\n".join(stale)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method"), sorted(ROUTES), ids=lambda v: str(v))
def test_route_access(world_template, tmp_path, endpoint, method, role):
    template, ids = world_template
    entry = ROUTES[(endpoint, method)]
    uri, drop = clone_database(template, tmp_path)
    app = create_app(base_config(uri) | {"SCHEDULE_TIME_LIMIT": 2.0, "SCHEDULE_WORKERS": 1})
    try:
        with app.app_context():
            client = app.test_client()
            if role != "anonymous":
                login = client.post(
                    "/account/login", data={"email": ids["emails"][role], "password": PASSWORD}
                )
                assert login.status_code == 302
            data = fill(entry.data or {}, ids)
            kwargs = {"json": data["json"]} if "json" in data else {"data": data}
            with client.open(fill(entry.path, ids), method=method, **kwargs) as response:
                assert classify(response) == entry.access[role], (
                    f"{method} {entry.path} as {role}: {response.status_code} "
                    f"{response.headers.get('Location', '')}"
                )
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
