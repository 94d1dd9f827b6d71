"""The OpenAPI 3.1 document of /api/v1, as data.

The structure is static; only the taxonomy codes (enums of the filters) and the examples
(ids and refs that exist) are read from the database, so that generated requests use them.
Request bodies come from the declarations in :mod:`matchmaker.api.bodies`, which also validate
them, so the document and the server cannot disagree.

Why one file of ~600 lines: it is one document, read top to bottom like the spec it renders
(paths, then schemas); the code is a few small builders, the rest is declarations. Split by
path it would scatter the schemas every path refers to.
"""

from flask import current_app
from sqlalchemy import select

from matchmaker.api import bodies
from matchmaker.directory import queries as directory
from matchmaker.directory import taxonomy
from matchmaker.directory.models import KINDS, LANGUAGES, MATURITIES, Profile
from matchmaker.events.models import (
    CANCELLED,
    CONFIRMED,
    REQUEST_STATUSES,
    WAITING,
    Event,
    MeetingRequest,
    Registration,
)
from matchmaker.extensions import db

MAX_ID = 2**31 - 1
JSON = "application/json"
STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}
LOCAL_TIME = {
    "type": "string",
    "description": "Local wall-clock time of the event (Europe/Berlin), ISO 8601 without offset.",
}
STRINGS = {"type": "array", "items": STRING}


def ref(name: str) -> dict:
    """Return a reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, description: str = "") -> dict:
    """Return a closed object schema whose properties are all required."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def json_response(description: str, schema: dict, headers: dict | None = None) -> dict:
    """Return a response object with a JSON body."""
    response = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def error(description: str) -> dict:
    """Return an error response object."""
    return json_response(description, ref("Error"))


ERRORS = {
    400: error(
        "Malformed request: a query parameter is invalid, the body is not JSON, "
        "or (session cookie calls) the CSRF token is missing."
    ),
    401: json_response(
        "The API token is unknown, revoked or malformed, or the call needs authentication.",
        ref("Error"),
        headers={
            "WWW-Authenticate": {
                "description": "The Bearer challenge (RFC 6750).",
                "required": True,
                "schema": STRING,
            }
        },
    ),
    403: error("The caller may not act for this profile or see this schedule."),
    404: error("The event, profile, registration or meeting request does not exist."),
    409: error(
        "Refused by the event's rules (closed registration, already registered, "
        "duplicate e-mail, already answered, ...). Nothing was changed."
    ),
    413: error("The request body exceeds the size limit."),
    415: error("The body is not declared as JSON (Content-Type: application/json)."),
    422: error(
        "The JSON body does not match the schema (types, lengths, unknown fields). "
        "`field` names the offending field."
    ),
}


def errors(*codes: int) -> dict:
    """Return the error responses with the given status codes."""
    return {str(code): ERRORS[code] for code in codes}


def components() -> dict:
    """Return the reusable schemas and security schemes."""
    term = obj({"code": STRING, "label_de": STRING, "label_en": STRING})
    profile_ref = obj(
        {"ref": STRING, "kind": {"type": "string", "enum": list(KINDS)}, "name": STRING},
        "A profile in short.",
    )
    summary_fields = {
        **profile_ref["properties"],
        "sector": {"anyOf": [ref("Term"), {"type": "null"}]},
        "sector_detail": STRING,
        "city": STRING,
        "region": STRING,
        "employees": {"type": ["integer", "null"]},
        "website": STRING,
        "language": {"type": "string", "enum": list(LANGUAGES)},
        "description": STRING,
        "tags": STRINGS,
        "categories": {**STRINGS, "description": "Use-case category codes."},
        "url": {**STRING, "description": "The profile's web page."},
    }
    contact = obj({"name": STRING, "role": STRING, "email": STRING, "phone": STRING})
    solution = obj(
        {
            "title": STRING,
            "description": STRING,
            "maturity": {"type": "string", "enum": list(MATURITIES)},
            "references": STRING,
            "pricing": STRING,
            "categories": STRINGS,
        }
    )
    slot = obj(
        {"number": {"type": "integer", "minimum": 1}, "start": LOCAL_TIME, "end": LOCAL_TIME}
    )
    count = {"type": "integer", "minimum": 0}
    side = obj(
        {
            "kind": {"type": "string", "enum": list(KINDS)},
            "capacity": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "Seats of this side; null: it may take any free seat of the event.",
            },
            "seats_taken": count,
            "seats_free": {
                **count,
                "description": "Seats a registration of this side may take now "
                "(within the event's free seats).",
            },
            "waiting_registrations": count,
        },
        "Seats and waiting list of one participant type.",
    )
    event = obj(
        {
            "id": {"type": "integer"},
            "title": STRING,
            "date": {"type": "string", "format": "date"},
            "venue": STRING,
            "description": STRING,
            "timezone": STRING,
            "registration_opens": LOCAL_TIME,
            "registration_closes": LOCAL_TIME,
            "registration_open": {"type": "boolean"},
            "capacity": {"type": "integer", "minimum": 1},
            "seats_taken": count,
            "seats_free": count,
            "waiting_registrations": count,
            "waiting_seats": count,
            "seats_per_side": {
                "type": "boolean",
                "description": "Whether SMEs and startups have seats and waiting lists "
                "of their own.",
            },
            "sides": {"type": "array", "items": ref("Side")},
            "max_meetings": count,
            "slots": {"type": "array", "items": ref("Slot")},
            "url": STRING,
        }
    )
    meeting = obj(
        {
            "slot": {"type": "integer"},
            "start": {"type": ["string", "null"], "description": LOCAL_TIME["description"]},
            "end": {"type": ["string", "null"], "description": LOCAL_TIME["description"]},
            "table": {"type": "integer"},
            "table_label": STRING,
            "a": ref("ProfileRef"),
            "b": ref("ProfileRef"),
            "origin": {"type": "string", "enum": ["request", "wish", "match", "manual"]},
        }
    )
    registration = obj(
        {
            "id": {"type": "integer"},
            "event_id": {"type": "integer"},
            "profile": ref("ProfileRef"),
            "status": {"type": "string", "enum": [CONFIRMED, WAITING, CANCELLED]},
            "position": {
                "type": ["integer", "null"],
                "minimum": 1,
                "description": "Place on the waiting list; null unless waiting.",
            },
            "created_at": TIMESTAMP,
            "attendees": {
                "type": "array",
                "items": obj({"id": {"type": "integer"}, "name": STRING, "email": STRING}),
            },
        }
    )
    meeting_request = obj(
        {
            "id": {"type": "integer"},
            "event_id": {"type": "integer"},
            "from": ref("ProfileRef"),
            "to": ref("ProfileRef"),
            "message": STRING,
            "status": {"type": "string", "enum": list(REQUEST_STATUSES)},
            "created_at": TIMESTAMP,
            "answered_at": {"type": ["string", "null"], "format": "date-time"},
        }
    )
    error_schema = {
        "type": "object",
        "properties": {
            "error": {**STRING, "description": "Short title in the caller's language."},
            "message": {**STRING, "description": "What went wrong, in the caller's language."},
            "status": {"type": "integer", "description": "The HTTP status code."},
            "field": {**STRING, "description": "The offending body field (422, 404)."},
        },
        "required": ["error", "message", "status"],
        "additionalProperties": False,
    }
    return {
        "schemas": {
            "Error": error_schema,
            "Term": term,
            "ProfileRef": profile_ref,
            "ProfileSummary": obj(summary_fields),
            "ProfileDetail": obj(
                {
                    **summary_fields,
                    "contact": {
                        "anyOf": [ref("Contact"), {"type": "null"}],
                        "description": "Only for authenticated members; null otherwise.",
                    },
                    "solutions": {"type": "array", "items": ref("Solution")},
                }
            ),
            "Contact": contact,
            "Solution": solution,
            "ProfileList": obj(
                {
                    "items": {"type": "array", "items": ref("ProfileSummary")},
                    "pagination": obj(
                        {
                            "page": {"type": "integer", "minimum": 1},
                            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
                            "total": count,
                            "pages": count,
                        }
                    ),
                }
            ),
            "Suggestions": obj(
                {
                    **profile_ref["properties"],
                    "suggestions": {
                        "type": "array",
                        "items": obj(
                            {
                                **profile_ref["properties"],
                                "score": {"type": "number"},
                                "reasons": STRINGS,
                            }
                        ),
                    },
                    "pending": {
                        "type": "boolean",
                        "description": "True while the first model is being fitted "
                        "(the list is empty until then).",
                    },
                }
            ),
            "Taxonomy": obj(
                {
                    "sectors": {"type": "array", "items": ref("Term")},
                    "categories": {"type": "array", "items": ref("Term")},
                }
            ),
            "Slot": slot,
            "Side": side,
            "Event": event,
            "EventList": obj({"items": {"type": "array", "items": ref("Event")}}),
            "Meeting": meeting,
            "Schedule": obj(
                {
                    "event_id": {"type": "integer"},
                    "version": {"type": "integer"},
                    "published_at": {"type": ["string", "null"], "format": "date-time"},
                    "slots": {"type": "array", "items": ref("Slot")},
                    "meetings": {"type": "array", "items": ref("Meeting")},
                }
            ),
            "Registration": registration,
            "MeetingRequest": meeting_request,
            "NewRegistration": bodies.REGISTRATION.schema(),
            "NewMeetingRequest": bodies.MEETING_REQUEST.schema(),
        },
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "A personal API token, created on /account/tokens.",
            },
            "sessionCookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": "session",
                "description": "The web session; state-changing calls must also send the "
                "CSRF token in the X-CSRFToken header.",
            },
        },
    }


OPTIONAL_AUTH = [{}, {"bearerAuth": []}, {"sessionCookie": []}]
REQUIRED_AUTH = [{"bearerAuth": []}, {"sessionCookie": []}]


def id_parameter(name: str, what: str, example: int | None) -> dict:
    """Return a path parameter holding a numeric id."""
    parameter = {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what}'s number.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }
    if example is not None:
        parameter["example"] = example
    return parameter


def query(name: str, schema: dict, description: str) -> dict:
    """Return an optional query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def text_schema(max_length: int) -> dict:
    """Return the schema of a free-text query parameter."""
    return {"type": "string", "maxLength": max_length, "pattern": bodies.NO_NUL}


def operation(
    summary: str,
    responses: dict,
    *,
    security=None,
    parameters=(),
    body=None,
    example=None,
    tag="",
) -> dict:
    """Return an operation object."""
    result = {
        "summary": summary,
        "operationId": "",
        "tags": [tag] if tag else [],
        "security": security if security is not None else OPTIONAL_AUTH,
        "parameters": list(parameters),
        "responses": responses,
    }
    if body is not None:
        media = {"schema": body}
        if example is not None:
            media["example"] = example
        result["requestBody"] = {"required": True, "content": {JSON: media}}
    return result


def examples() -> dict:
    """Return ids and refs that exist, for the parameters' and bodies' examples."""
    first = db.session.scalar(select(Profile).order_by(Profile.id).limit(1))
    registered = list(
        db.session.scalars(
            select(Profile)
            .join(Registration, Registration.profile_id == Profile.id)
            .where(Registration.status == CONFIRMED)
            .order_by(Profile.kind, Profile.id)
            .limit(200)
        )
    )
    smes = [p for p in registered if p.kind == "sme"]
    startups = [p for p in registered if p.kind == "startup"]
    last = db.session.scalar(select(Profile).order_by(Profile.id.desc()).limit(1))
    return {
        "registration_body": {
            "profile": last.ref,
            "attendees": [{"name": "Erika Muster", "email": "erika.muster@example.org"}],
        }
        if last is not None
        else None,
        "request_body": {
            "from": smes[0].ref,
            "to": startups[0].ref,
            "message": "Gern am Vormittag.",
        }
        if smes and startups
        else None,
        "ref": first.ref if first is not None else None,
        "event": db.session.scalar(select(Event.id).order_by(Event.id).limit(1)),
        "registration": db.session.scalar(
            select(Registration.id).order_by(Registration.id.desc()).limit(1)
        ),
        "request": db.session.scalar(
            select(MeetingRequest.id).order_by(MeetingRequest.id.desc()).limit(1)
        ),
    }


def paths() -> dict:
    """Return every path of the API with its operations."""
    ex = examples()
    ref_parameter = {
        "name": "ref",
        "in": "path",
        "required": True,
        "description": "The profile's reference: its external reference, or its number when "
        "it has none.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 80, "pattern": "^[^\\u0000/]+$"},
    }
    if ex["ref"] is not None:
        ref_parameter["example"] = ex["ref"]
    event_id = id_parameter("event_id", "event", ex["event"])
    registration_id = id_parameter("registration_id", "registration", ex["registration"])
    request_id = id_parameter("request_id", "meeting request", ex["request"])
    sectors = [s.code for s in taxonomy.all_sectors()]
    categories = [c.code for c in taxonomy.all_categories()]
    directory_parameters = [
        query(
            "q",
            text_schema(200),
            "Search text (German and English: stems, compounds, thesaurus concepts); "
            "results come best match first, then in the chosen sort.",
        ),
        query("kind", {"type": "string", "enum": list(KINDS)}, "Only SMEs or only startups."),
        query("sector", {"type": "string", "enum": sectors}, "A sector code (see /taxonomy)."),
        query(
            "category",
            {"type": "string", "enum": categories},
            "An AI use-case category code (see /taxonomy), of the profile or its solutions.",
        ),
        query("region", text_schema(120), "A region or town (exact)."),
        query(
            "sort",
            {"type": "string", "enum": list(directory.SORTS), "default": "name"},
            "Order: name, newest, city, size (employees, largest first).",
        ),
        query("page", {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 1}, "Page."),
        query(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
            "Profiles per page.",
        ),
    ]
    ok = json_response
    write_errors = errors(400, 401, 403, 404, 409, 413, 415, 422)
    answer_errors = errors(400, 401, 403, 404, 409, 413)
    return {
        "/api/v1/openapi.json": {
            "get": operation(
                "This document.",
                {"200": ok("The OpenAPI document.", {"type": "object"}), **errors(401)},
                tag="meta",
            )
        },
        "/api/v1/profiles": {
            "get": operation(
                "Search, filter, sort and page through the directory.",
                {"200": ok("A page of profiles.", ref("ProfileList")), **errors(400, 401)},
                parameters=directory_parameters,
                tag="directory",
            )
        },
        "/api/v1/profiles/{ref}": {
            "get": operation(
                "One profile with its solutions; contact data only for authenticated members.",
                {"200": ok("The profile.", ref("ProfileDetail")), **errors(401, 404)},
                parameters=[ref_parameter],
                tag="directory",
            )
        },
        "/api/v1/profiles/{ref}/suggestions": {
            "get": operation(
                "Suggested partners of the other kind, with scores and reasons.",
                {"200": ok("The suggestions.", ref("Suggestions")), **errors(400, 401, 404)},
                parameters=[
                    ref_parameter,
                    query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                        "How many suggestions.",
                    ),
                ],
                tag="matching",
            )
        },
        "/api/v1/taxonomy": {
            "get": operation(
                "Sectors and AI use-case categories with German and English labels.",
                {"200": ok("The taxonomy.", ref("Taxonomy")), **errors(401)},
                tag="directory",
            )
        },
        "/api/v1/events": {
            "get": operation(
                "Events: upcoming ones soonest first, then past ones newest first.",
                {"200": ok("The events.", ref("EventList")), **errors(401)},
                tag="events",
            )
        },
        "/api/v1/events/{event_id}": {
            "get": operation(
                "One event with its programme, free seats and waiting list.",
                {"200": ok("The event.", ref("Event")), **errors(401, 404)},
                parameters=[event_id],
                tag="events",
            )
        },
        "/api/v1/events/{event_id}/schedule": {
            "get": operation(
                "The published schedule: every meeting for organisers, the meetings of their "
                "own profiles for participants.",
                {"200": ok("The schedule.", ref("Schedule")), **errors(401, 403, 404)},
                security=REQUIRED_AUTH,
                parameters=[event_id],
                tag="events",
            )
        },
        "/api/v1/events/{event_id}/registrations": {
            "post": operation(
                "Register attendees of a profile (its owner or an organiser): confirmed when "
                "seats allow and nobody waits, else on the waiting list (strict FIFO).",
                {"201": ok("The registration.", ref("Registration")), **write_errors},
                security=REQUIRED_AUTH,
                parameters=[event_id],
                body=ref("NewRegistration"),
                example=ex["registration_body"],
                tag="events",
            )
        },
        "/api/v1/registrations/{registration_id}": {
            "get": operation(
                "A registration with its status and waiting-list position (owner or organiser).",
                {"200": ok("The registration.", ref("Registration")), **errors(401, 403, 404)},
                security=REQUIRED_AUTH,
                parameters=[registration_id],
                tag="events",
            ),
            "delete": operation(
                "Cancel a whole registration (owner or organiser); the waiting list moves up.",
                {"200": ok("The cancelled registration.", ref("Registration")), **answer_errors},
                security=REQUIRED_AUTH,
                parameters=[registration_id],
                tag="events",
            ),
        },
        "/api/v1/events/{event_id}/meeting-requests": {
            "post": operation(
                "Ask another registered profile for a meeting (owner of `from` or an organiser).",
                {"201": ok("The meeting request.", ref("MeetingRequest")), **write_errors},
                security=REQUIRED_AUTH,
                parameters=[event_id],
                body=ref("NewMeetingRequest"),
                example=ex["request_body"],
                tag="events",
            )
        },
        "/api/v1/meeting-requests/{request_id}/accept": {
            "post": operation(
                "Accept a pending meeting request (owner of the asked profile or an organiser).",
                {"200": ok("The answered request.", ref("MeetingRequest")), **answer_errors},
                security=REQUIRED_AUTH,
                parameters=[request_id],
                tag="events",
            )
        },
        "/api/v1/meeting-requests/{request_id}/decline": {
            "post": operation(
                "Decline a pending meeting request (owner of the asked profile or an organiser).",
                {"200": ok("The answered request.", ref("MeetingRequest")), **answer_errors},
                security=REQUIRED_AUTH,
                parameters=[request_id],
                tag="events",
            )
        },
    }


OPERATION_IDS = {
    ("/api/v1/openapi.json", "get"): "getOpenApi",
    ("/api/v1/profiles", "get"): "listProfiles",
    ("/api/v1/profiles/{ref}", "get"): "getProfile",
    ("/api/v1/profiles/{ref}/suggestions", "get"): "getSuggestions",
    ("/api/v1/taxonomy", "get"): "getTaxonomy",
    ("/api/v1/events", "get"): "listEvents",
    ("/api/v1/events/{event_id}", "get"): "getEvent",
    ("/api/v1/events/{event_id}/schedule", "get"): "getSchedule",
    ("/api/v1/events/{event_id}/registrations", "post"): "createRegistration",
    ("/api/v1/registrations/{registration_id}", "get"): "getRegistration",
    ("/api/v1/registrations/{registration_id}", "delete"): "cancelRegistration",
    ("/api/v1/events/{event_id}/meeting-requests", "post"): "createMeetingRequest",
    ("/api/v1/meeting-requests/{request_id}/accept", "post"): "acceptMeetingRequest",
    ("/api/v1/meeting-requests/{request_id}/decline", "post"): "declineMeetingRequest",
}


def document() -> dict:
    """Return the OpenAPI document of /api/v1."""
    all_paths = paths()
    for (path, method), operation_id in OPERATION_IDS.items():
        all_paths[path][method]["operationId"] = operation_id
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Matchmaker API",
            "version": "1.0.0",
            "description": (
                "Directory, suggestions, events, schedules and bookings of Matchmaker. "
                "Public data needs no authentication; send a personal API token as "
                "`Authorization: Bearer <token>` for contact data, schedules and writes. "
                "Errors are JSON objects in the caller's language (Accept-Language). "
                f"Bodies larger than {current_app.config.get('MAX_CONTENT_LENGTH')} bytes are "
                "refused with 413; unknown body fields are refused with 422."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": all_paths,
        "components": components(),
    }
