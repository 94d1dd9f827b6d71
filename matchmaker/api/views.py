"""The JSON API under /api/v1: directory, suggestions, taxonomy, events, schedule, bookings.

Views stay thin: parse and validate, check who may act, call the area's services (which hold
the locking and waiting-list rules), commit once, answer JSON. Errors are JSON objects
``{"error", "message", "status"}`` (plus ``field`` for an invalid body field) in the
caller's language.
"""

import re

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from matchmaker.api import auth, bodies, openapi
from matchmaker.api.bodies import BodyError, is_storable
from matchmaker.api.payloads import (
    event_payload,
    iso,
    meeting_request_payload,
    profile_detail,
    profile_ref,
    profile_summary,
    registration_payload,
    slots,
    term,
)
from matchmaker.core.i18n import recipient_language
from matchmaker.directory import queries as directory
from matchmaker.directory import taxonomy
from matchmaker.directory.models import KINDS, Profile
from matchmaker.events import queries, registrations, wishes
from matchmaker.events.errors import EventError
from matchmaker.events.models import Event, MeetingRequest, Registration
from matchmaker.extensions import csrf, db
from matchmaker.mail import services as mail
from matchmaker.matching import services as matching
from matchmaker.scheduling import versions

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer-token calls need no CSRF token; session calls are checked in auth.authenticate.
csrf.exempt(bp)
bp.before_request(auth.authenticate)


@bp.before_request
def refuse_large_bodies() -> None:
    """Answer 413 before any other check when the announced body exceeds the limit."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


MAX_ID = 2**31 - 1
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
MAX_PAGE = 10_000
MAX_QUERY_LENGTH = 200
MAX_REGION_LENGTH = 120
MAX_REF_LENGTH = 80
MAX_SUGGESTIONS = 50
DIGITS = re.compile(r"[0-9]{1,9}")


class ApiError(Exception):
    """An answer other than success, with a message for the caller."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def titles() -> dict[int, str]:
    """Return the short error titles in the caller's language."""
    return {
        400: _("Bad request"),
        401: _("Authentication required"),
        403: _("Access denied"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Payload too large"),
        415: _("Unsupported media type"),
        422: _("Invalid data"),
        429: _("Too many requests"),
    }


def error_response(status: int, message: str, field: str | None = None, headers=None):
    """Build the JSON error answer."""
    body = {"error": titles().get(status, _("Error")), "message": message, "status": status}
    if field is not None:
        body["field"] = field
    return body, status, headers or {}


@bp.errorhandler(ApiError)
def handle_api_error(error: ApiError):
    return error_response(error.status, error.message, error.field)


@bp.errorhandler(BodyError)
def handle_body_error(error: BodyError):
    return error_response(error.status, error.message, error.field)


@bp.errorhandler(CSRFError)
def handle_csrf_error(error: CSRFError):
    return error_response(
        400,
        _(
            "Calls authenticated by the session cookie must send the CSRF token in the "
            "X-CSRFToken header; or use an API token."
        ),
    )


@bp.errorhandler(auth.ApiUnauthorized)
def handle_unauthorized(error: auth.ApiUnauthorized):
    return error_response(401, error.description, headers={"WWW-Authenticate": error.challenge})


@bp.errorhandler(HTTPException)
def handle_http_error(error: HTTPException):
    code = error.code or 500
    defaults = {
        404: _("There is nothing at this address."),
        413: _("The data you sent exceeds the size limit."),
    }
    message = error.description if getattr(error, "friendly", False) else None
    return error_response(code, message or defaults.get(code, titles().get(code, _("Error"))))


@bp.after_app_request
def add_allow_header(response):
    """Name the allowed methods on a 405 of an API address, as HTTP asks."""
    routing = getattr(request, "routing_exception", None)
    valid = getattr(routing, "valid_methods", None)
    if response.status_code == 405 and valid and request.path.startswith("/api/"):
        response.headers.setdefault("Allow", ", ".join(sorted(valid)))
    return response


# -- parameters ---------------------------------------------------------------------------------


def text_arg(name: str, max_length: int) -> str | None:
    """Return a query parameter given at most once, storable and not too long."""
    values = request.args.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(400, _("Give the parameter %(name)s only once.", name=name))
    value = values[0]
    if len(value) > max_length or not is_storable(value):
        raise ApiError(
            400, _("%(name)s must be a text of at most %(n)d characters.", name=name, n=max_length)
        )
    return value


def choice_arg(name: str, choices) -> str:
    """Return a query parameter that must be one of the choices ("" when absent)."""
    value = text_arg(name, 80)
    if value is None:
        return ""
    if value not in choices:
        raise ApiError(400, _("Unknown value for %(name)s.", name=name))
    return value


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """Return a whole-number query parameter between low and high."""
    value = text_arg(name, 12)
    if value is None:
        return default
    if not DIGITS.fullmatch(value) or not low <= int(value) <= high:
        raise ApiError(
            400,
            _(
                "%(name)s must be a whole number between %(low)d and %(high)d.",
                name=name,
                low=low,
                high=high,
            ),
        )
    return int(value)


def find_profile(ref: str) -> Profile | None:
    """Return the profile with this ref (external reference, or id when it has none)."""
    if not ref or len(ref) > MAX_REF_LENGTH or not is_storable(ref):
        return None
    profile = directory.find_by_ref(ref)
    if profile is None and DIGITS.fullmatch(ref):
        profile = db.session.get(Profile, int(ref))
    if profile is None or profile.ref != ref or profile.deleted_at is not None:
        return None
    return profile


def get_profile(ref: str) -> Profile:
    """Return the profile with this ref or answer 404."""
    profile = find_profile(ref)
    if profile is None:
        raise ApiError(404, _("There is no profile with the reference %(ref)s.", ref=ref[:80]))
    return profile


def body_profile(ref: str, field: str) -> Profile:
    """Return a profile named in a request body, or answer 404 naming the field."""
    profile = find_profile(ref)
    if profile is None:
        raise ApiError(
            404, _("There is no profile with the reference %(ref)s.", ref=ref[:80]), field
        )
    return profile


def get_event(event_id: int) -> Event:
    """Return the event or answer 404."""
    event = db.session.get(Event, event_id) if event_id <= MAX_ID else None
    if event is None:
        raise ApiError(404, _("There is no event with the number %(id)d.", id=event_id))
    return event


def require_edit(profile: Profile) -> None:
    """Answer 403 unless the caller owns the profile or is an organiser."""
    if not current_user.can_edit(profile):
        raise ApiError(
            403, _("Only the owner of %(name)s or an organiser may do this.", name=profile.name)
        )


def commit_use_case(action, present):
    """Run a use case in one transaction and answer with ``present(result)``, or change nothing.

    The answer is built before the commit: afterwards the objects are expired, and reloading
    them over a connection lost just after the commit would answer 500 for a stored change.
    """
    try:
        result = action()
        db.session.flush()
        answer = present(result)
    except EventError as error:
        db.session.rollback()
        mail.discard_new()
        raise ApiError(409, error.message, error.field) from None
    except IntegrityError:
        db.session.rollback()
        mail.discard_new()
        raise ApiError(409, _("This conflicts with a change made at the same time.")) from None
    db.session.commit()
    mail.deliver_new()
    return answer


# -- read ---------------------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi_document():
    """Serve the OpenAPI document of this API."""
    return openapi.document()


@bp.get("/profiles")
def profiles():
    """Search, filter, sort and page through the directory."""
    q = text_arg("q", MAX_QUERY_LENGTH) or ""
    query = directory.DirectoryQuery(
        q=q.strip(),
        kind=choice_arg("kind", KINDS),
        sector=choice_arg("sector", [s.code for s in taxonomy.all_sectors()]),
        category=choice_arg("category", [c.code for c in taxonomy.all_categories()]),
        region=(text_arg("region", MAX_REGION_LENGTH) or "").strip(),
        sort=choice_arg("sort", directory.SORTS) or "name",
    )
    page = int_arg("page", 1, 1, MAX_PAGE)
    per_page = int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    pagination = db.paginate(
        directory.directory_select(query), page=page, per_page=per_page, error_out=False
    )
    return {
        "items": [profile_summary(p) for p in pagination.items],
        "pagination": {
            "page": page,
            "per_page": per_page,
            "total": pagination.total or 0,
            "pages": pagination.pages,
        },
    }


@bp.get("/profiles/<ref>")
def profile(ref: str):
    """Return one profile; contact data only for members."""
    return profile_detail(get_profile(ref))


@bp.get("/profiles/<ref>/suggestions")
def suggestions(ref: str):
    """Return the suggestions of one profile (ref, score, reasons)."""
    limit = int_arg("limit", 10, 1, MAX_SUGGESTIONS)
    profile = get_profile(ref)
    suggestions = matching.suggestions_for(profile, k=limit)
    return {
        **profile_ref(profile),
        "suggestions": [
            {
                **profile_ref(s.profile),
                "score": round(float(s.score), 4),
                "reasons": list(s.reasons),
            }
            for s in suggestions
        ],
        # no model exists yet: the list is empty because suggestions are being computed
        "pending": not suggestions and matching.suggestions_pending(),
    }


@bp.get("/taxonomy")
def taxonomy_terms():
    """Return the sectors and AI use-case categories with German and English labels."""
    return {
        "sectors": [term(s) for s in taxonomy.all_sectors()],
        "categories": [term(c) for c in taxonomy.all_categories()],
    }


@bp.get("/events")
def event_list():
    """List the events: upcoming ones soonest first, then past ones newest first."""
    upcoming = queries.upcoming_events()
    past = [e for e in queries.all_events() if e not in upcoming]
    return {"items": [event_payload(e) for e in upcoming + past]}


@bp.get("/events/<int:event_id>")
def event_detail(event_id: int):
    """Return an event with its programme, free seats and waiting list."""
    return event_payload(get_event(event_id))


@bp.get("/events/<int:event_id>/schedule")
def schedule(event_id: int):
    """Return the published schedule: all meetings for organisers, one's own for participants."""
    user = auth.require_member()
    event = get_event(event_id)
    version = versions.published_version(event)
    if version is None:
        raise ApiError(404, _("No schedule has been published for this event yet."))
    meetings = version.meetings
    # the meetings' profiles in one statement, kept until the answer is made
    _held = versions.meeting_profiles(meetings)
    if not user.is_organiser:
        meetings = [m for m in meetings if user.id in (m.profile_a.owner_id, m.profile_b.owner_id)]
        if not meetings:
            raise ApiError(403, _("None of your profiles has meetings in this schedule."))
    times = slots(event)
    return {
        "event_id": event.id,
        "version": version.number,
        "published_at": iso(version.published_at),
        "slots": times,
        "meetings": [
            {
                "slot": m.slot,
                "start": times[m.slot - 1]["start"] if 0 < m.slot <= len(times) else None,
                "end": times[m.slot - 1]["end"] if 0 < m.slot <= len(times) else None,
                "table": m.table,
                "table_label": event.table_label(m.table),
                "a": profile_ref(m.profile_a),
                "b": profile_ref(m.profile_b),
                "origin": m.origin,
            }
            for m in sorted(meetings, key=lambda m: (m.slot, m.table))
        ],
    }


# -- write --------------------------------------------------------------------------------------


@bp.post("/events/<int:event_id>/registrations")
def register(event_id: int):
    """Register attendees of a profile: confirmed if seats allow, else on the waiting list."""
    user = auth.require_member()
    event = get_event(event_id)
    data = bodies.read_json(bodies.REGISTRATION)
    profile = body_profile(data["profile"], "profile")
    require_edit(profile)
    people = [(a["name"], a["email"]) for a in data["attendees"]]

    def use_case() -> Registration:
        return registrations.register(
            event.id, profile, people, user=user, locale=recipient_language(user)
        )

    return commit_use_case(use_case, registration_payload), 201


def get_registration(registration_id: int) -> Registration:
    """Return a registration the caller may see and change, or answer 404/403."""
    registration = (
        db.session.get(Registration, registration_id) if registration_id <= MAX_ID else None
    )
    if registration is None:
        raise ApiError(
            404, _("There is no registration with the number %(id)d.", id=registration_id)
        )
    require_edit(registration.profile)
    return registration


@bp.get("/registrations/<int:registration_id>")
def registration(registration_id: int):
    """Return a registration with its status and waiting-list position."""
    auth.require_member()
    return registration_payload(get_registration(registration_id))


@bp.delete("/registrations/<int:registration_id>")
def cancel_registration(registration_id: int):
    """Cancel a whole registration; the waiting list moves up."""
    user = auth.require_member()
    registration = get_registration(registration_id)
    return commit_use_case(
        lambda: registrations.cancel_registration(registration, by_organiser=user.is_organiser),
        lambda _: registration_payload(registration),
    )


@bp.post("/events/<int:event_id>/meeting-requests")
def send_meeting_request(event_id: int):
    """Ask another registered profile for a meeting at the event."""
    auth.require_member()
    event = get_event(event_id)
    data = bodies.read_json(bodies.MEETING_REQUEST)
    sender = body_profile(data["from"], "from")
    target = body_profile(data["to"], "to")
    require_edit(sender)
    return commit_use_case(
        lambda: wishes.send_meeting_request(event, sender, target, data.get("message", "")),
        meeting_request_payload,
    ), 201


def answer(request_id: int, accept: bool):
    """Accept or decline a meeting request as the asked profile's owner (or an organiser)."""
    auth.require_member()
    meeting_request = db.session.get(MeetingRequest, request_id) if request_id <= MAX_ID else None
    if meeting_request is None:
        raise ApiError(404, _("There is no meeting request with the number %(id)d.", id=request_id))
    require_edit(meeting_request.to_profile)
    return commit_use_case(
        lambda: wishes.answer_request(meeting_request, accept),
        lambda _: meeting_request_payload(meeting_request),
    )


@bp.post("/meeting-requests/<int:request_id>/accept")
def accept_meeting_request(request_id: int):
    """Accept a pending meeting request."""
    return answer(request_id, True)


@bp.post("/meeting-requests/<int:request_id>/decline")
def decline_meeting_request(request_id: int):
    """Decline a pending meeting request."""
    return answer(request_id, False)
