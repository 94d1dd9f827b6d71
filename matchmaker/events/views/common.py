"""The events blueprint and what its views share: records the user may act on, promotions."""

from flask import Blueprint, abort, flash
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, select

from matchmaker.directory.models import Profile
from matchmaker.directory.queries import profiles_of
from matchmaker.events import queries
from matchmaker.events.models import Attendee, Event, Registration
from matchmaker.extensions import db

bp = Blueprint("events", __name__)


def flash_promoted(promoted: list[Registration]) -> None:
    """Say who moved up from the waiting list."""
    if promoted:
        names = ", ".join(r.profile.name for r in promoted)
        flash(_("Promoted from the waiting list: %(names)s.", names=names), "success")


def get_registration(registration_id: int) -> Registration:
    """Return a registration the current user may see and change, or answer 404/403."""
    registration = db.get_or_404(Registration, registration_id)
    if not current_user.can_edit(registration.profile):
        abort(403)
    return registration


def get_attendee(attendee_id: int) -> Attendee:
    """Return an attendee whose registration the current user may change, or answer 404/403."""
    attendee = db.get_or_404(Attendee, attendee_id)
    if not current_user.can_edit(attendee.registration.profile):
        abort(403)
    return attendee


# The profiles a user may register, as (id, name, kind) rows: asked by every registration, and
# the registration needs no more of them. Keyed by "the user is an organiser" (then: all).
_profile_rows = select(Profile.id, Profile.name, Profile.kind).order_by(Profile.name)
PROFILE_CHOICES = {
    True: _profile_rows,
    False: _profile_rows.where(
        Profile.owner_id == bindparam("user_id"), Profile.deleted_at.is_(None)
    ),
}


def profile_choices() -> list:
    """Return (id, name, kind) of the profiles the current user may act for, by name."""
    statement = PROFILE_CHOICES[bool(current_user.is_organiser)]
    return db.session.connection().execute(statement, {"user_id": current_user.id}).all()


def actable_profiles(event: Event | None = None) -> list[Profile]:
    """Return the profiles the current user may act for (organisers: all), by name."""
    if current_user.is_organiser:
        profiles = list(db.session.scalars(select(Profile).order_by(Profile.name)))
    else:
        profiles = profiles_of(current_user)
    if event is not None:
        profiles = [p for p in profiles if queries.is_registered(event.id, p.id)]
    return profiles
