"""Turn models into the JSON the API returns (the shapes are documented in openapi.py)."""

from datetime import UTC, datetime

from flask import url_for
from flask_login import current_user

from matchmaker.directory.models import Category, Profile, Sector
from matchmaker.events import programme, queries
from matchmaker.events.models import Event, MeetingRequest, Registration


def iso(moment: datetime | None) -> str | None:
    """Return an audit timestamp in ISO 8601 with its UTC offset (SQLite returns it naive)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def can_see_contact(profile: Profile) -> bool:
    """Tell whether the caller may see a profile's contact data (as on the web page)."""
    return profile.contact_visible_to(current_user)


def term(item: Sector | Category) -> dict:
    """Return a taxonomy entry with its labels in both languages."""
    return {"code": item.code, "label_de": item.label_de, "label_en": item.label_en}


def profile_ref(profile: Profile) -> dict:
    """Return the short form of a profile used inside other objects."""
    return {"ref": profile.ref, "kind": profile.kind, "name": profile.name}


def profile_summary(profile: Profile) -> dict:
    """Return the public fields of a profile, as listed in the directory."""
    return {
        **profile_ref(profile),
        "sector": term(profile.sector) if profile.sector is not None else None,
        "sector_detail": profile.sector_detail,
        "city": profile.city,
        "region": profile.region,
        "employees": profile.employees,
        "website": profile.website,
        "language": profile.language,
        "description": profile.description,
        "tags": list(profile.tags or []),
        "categories": [c.code for c in profile.categories],
        "url": url_for("directory.detail", profile_id=profile.id),
    }


def profile_detail(profile: Profile) -> dict:
    """Return a profile with its solutions; contact data only for members."""
    contact = None
    if can_see_contact(profile):
        contact = {
            "name": profile.contact_name,
            "role": profile.contact_role,
            "email": profile.contact_email,
            "phone": profile.contact_phone,
        }
    return {
        **profile_summary(profile),
        "contact": contact,
        "solutions": [
            {
                "title": s.title,
                "description": s.description,
                "maturity": s.maturity,
                "references": s.references,
                "pricing": s.pricing,
                "categories": [c.code for c in s.categories],
            }
            for s in profile.solutions
        ],
    }


def slots(event: Event) -> list[dict]:
    """Return the meeting slots of an event with local start and end times."""
    return [
        {"number": n, "start": start.isoformat(), "end": end.isoformat()}
        for n, (start, end) in enumerate(programme.slot_times(event), start=1)
    ]


def event_payload(event: Event) -> dict:
    """Return the public information of an event with its seats and waiting list."""
    figures = queries.event_figures(event)
    return {
        "id": event.id,
        "title": event.title,
        "date": event.date.isoformat(),
        "venue": event.venue,
        "description": event.description,
        "timezone": "Europe/Berlin",
        "registration_opens": event.registration_opens.isoformat(),
        "registration_closes": event.registration_closes.isoformat(),
        "registration_open": queries.registration_open(event),
        "capacity": figures.capacity,
        "seats_taken": figures.taken,
        "seats_free": figures.free,
        "waiting_registrations": figures.waiting_registrations,
        "waiting_seats": figures.waiting_seats,
        "seats_per_side": event.seats_per_side,
        "sides": [
            {
                "kind": side.kind,
                "capacity": side.capacity,
                "seats_taken": side.taken,
                "seats_free": side.free,
                "waiting_registrations": side.waiting_registrations,
            }
            for side in (figures.sides or queries.side_figures(event))
        ],
        "max_meetings": event.max_meetings,
        "slots": slots(event),
        "url": url_for("events.detail", event_id=event.id),
    }


def registration_payload(registration: Registration) -> dict:
    """Return a registration with its status, waiting-list position and attendees."""
    return {
        "id": registration.id,
        "event_id": registration.event_id,
        "profile": profile_ref(registration.profile),
        "status": registration.status,
        "position": queries.waiting_position(registration),
        "created_at": iso(registration.created_at),
        "attendees": [
            {"id": a.id, "name": a.name, "email": a.email}
            for a in registration.attendees
            if a.cancelled_at is None or registration.cancelled_at is not None
        ],
    }


def meeting_request_payload(meeting_request: MeetingRequest) -> dict:
    """Return a meeting request and its state."""
    return {
        "id": meeting_request.id,
        "event_id": meeting_request.event_id,
        "from": profile_ref(meeting_request.from_profile),
        "to": profile_ref(meeting_request.to_profile),
        "message": meeting_request.message,
        "status": meeting_request.status,
        "created_at": iso(meeting_request.created_at),
        "answered_at": iso(meeting_request.answered_at),
    }
