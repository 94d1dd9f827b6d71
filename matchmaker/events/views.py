"""Event pages: events, registrations and waiting list, availability, meeting wishes, outbox."""

import csv
import io
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from matchmaker.core.i18n import current_language
from matchmaker.directory.models import Profile
from matchmaker.directory.services import profiles_of
from matchmaker.directory.views import bad_request
from matchmaker.events import services
from matchmaker.events.forms import (
    ActionForm,
    AvailabilityForm,
    CapacityForm,
    ConfirmForm,
    EventForm,
    MarkForm,
    MeetingRequestForm,
    RegistrationForm,
    format_breaks,
)
from matchmaker.events.models import (
    CONFIRMED,
    PENDING,
    WAITING,
    Attendee,
    Event,
    MeetingRequest,
    Registration,
)
from matchmaker.events.services import EventError
from matchmaker.extensions import db
from matchmaker.mail import services as mail
from matchmaker.mail.models import STATUSES

bp = Blueprint("events", __name__)

OUTBOX_PAGE_SIZE = 50


def organiser_required(view):
    """Let only logged-in organisers through (403 for members)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_organiser:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def commit_and_send() -> None:
    """Commit the request's changes, then send the e-mails they queued."""
    db.session.commit()
    mail.deliver_new()


def refuse(error: EventError, form=None) -> None:
    """Undo the request's changes and show why (on the field when there is one)."""
    db.session.rollback()
    mail.discard_new()
    field = getattr(form, error.field, None) if form is not None and error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def flash_promoted(promoted: list[Registration]) -> None:
    """Say who moved up from the waiting list."""
    if promoted:
        names = ", ".join(r.profile.name for r in promoted)
        flash(_("Promoted from the waiting list: %(names)s.", names=names), "success")


def get_event_or_404(event_id: int) -> Event:
    """Return the event or answer 404."""
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    return event


def get_profile_or_404(profile_id: int) -> Profile:
    """Return the profile or answer 404."""
    profile = db.session.get(Profile, profile_id)
    if profile is None:
        abort(404)
    return profile


def get_registration(registration_id: int) -> Registration:
    """Return a registration the current user may see and change, or answer 404/403."""
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        abort(404)
    if not current_user.can_edit(registration.profile):
        abort(403)
    return registration


def get_attendee(attendee_id: int) -> Attendee:
    """Return an attendee whose registration the current user may change, or answer 404/403."""
    attendee = db.session.get(Attendee, attendee_id)
    if attendee is None:
        abort(404)
    if not current_user.can_edit(attendee.registration.profile):
        abort(403)
    return attendee


def actable_profiles(event: Event | None = None) -> list[Profile]:
    """Return the profiles the current user may act for (organisers: all), by name."""
    if current_user.is_organiser:
        profiles = list(db.session.scalars(select(Profile).order_by(Profile.name)))
    else:
        profiles = profiles_of(current_user)
    if event is not None:
        profiles = [p for p in profiles if services.is_registered(event.id, p.id)]
    return profiles


# -- public and member pages -------------------------------------------------------------------


@bp.get("/events")
def index():
    """List the events, upcoming first."""
    events = services.upcoming_events()
    past = [e for e in services.all_events() if e not in events]
    figures = {e.id: services.event_figures(e) for e in events}
    return render_template("events/index.html", events=events, past=past, figures=figures)


@bp.get("/events/<int:event_id>")
def detail(event_id: int):
    """Show an event: programme, seats, and the current user's registrations."""
    event = get_event_or_404(event_id)
    mine = []
    if current_user.is_authenticated:
        ids = [p.id for p in profiles_of(current_user)]
        mine = services.registrations_of_profiles(ids, event.id)
    return render_template(
        "events/detail.html",
        event=event,
        figures=services.event_figures(event),
        slots=services.slot_times(event),
        is_open=services.registration_open(event),
        now=services.local_now(),
        mine=mine,
        position=services.waiting_position,
    )


@bp.route("/events/<int:event_id>/register", methods=["GET", "POST"])
@login_required
def register(event_id: int):
    """Register attendees of one of the user's profiles; full events put them on the list."""
    event = get_event_or_404(event_id)
    profiles = actable_profiles()
    if not profiles:
        flash(_("Create a profile for your organisation first."), "info")
        return redirect(url_for("directory.my_profiles"))
    form = RegistrationForm()
    form.profile_id.choices = [SelectChoice(p.id, p.name) for p in profiles]
    if request.method == "GET" and request.args.get("profile", "").isdigit():
        form.profile_id.data = int(request.args["profile"])
    if form.validate_on_submit():
        profile = next(p for p in profiles if p.id == form.profile_id.data)
        try:
            registration = services.register(
                event.id,
                profile,
                form.people(),
                user=current_user,
                locale=current_language(),
            )
        except EventError as error:
            refuse(error, form)
        else:
            position = services.waiting_position(registration)
            registration_id = registration.id
            commit_and_send()
            if position is None:
                flash(_("You are registered. A confirmation is on its way by e-mail."), "success")
            else:
                flash(
                    _(
                        "The event is full. You are on the waiting list at position "
                        "%(position)d; we will e-mail you when a seat is free.",
                        position=position,
                    ),
                    "info",
                )
            return redirect(url_for("events.registration", registration_id=registration_id))
    figures = services.event_figures(event)
    return render_template(
        "events/register.html",
        event=event,
        form=form,
        figures=figures,
        is_open=services.registration_open(event),
    )


@bp.get("/registrations/<int:registration_id>")
@login_required
def registration(registration_id: int):
    """Show a registration with its status, waiting-list place and attendees."""
    reg = get_registration(registration_id)
    return render_template(
        "events/registration.html",
        registration=reg,
        event=reg.event,
        position=services.waiting_position(reg),
        availability=services.availability_of(reg.event, reg.profile),
        form=ConfirmForm(),
    )


@bp.route("/registrations/<int:registration_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(registration_id: int):
    """Ask, then cancel a whole registration (owner or organiser)."""
    reg = get_registration(registration_id)
    form = ConfirmForm()
    back = url_for("events.registration", registration_id=reg.id)
    if form.validate_on_submit():
        try:
            promoted = services.cancel_registration(reg, by_organiser=current_user.is_organiser)
        except EventError as error:
            refuse(error)
        else:
            commit_and_send()
            flash(_("The registration has been cancelled."), "success")
            if current_user.is_organiser:
                flash_promoted(promoted)
        return redirect(back)
    what = _("the registration of %(name)s (%(n)d seats)", name=reg.profile.name, n=reg.seats)
    return render_template(
        "events/confirm_cancel.html", form=form, what=what, cancel_url=back, event=reg.event
    )


@bp.route("/attendees/<int:attendee_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel_attendee(attendee_id: int):
    """Ask, then give up one attendee's seat (owner or organiser)."""
    attendee = get_attendee(attendee_id)
    registration_id = attendee.registration_id
    form = ConfirmForm()
    back = url_for("events.registration", registration_id=registration_id)
    if form.validate_on_submit():
        try:
            promoted = services.cancel_attendee(attendee, by_organiser=current_user.is_organiser)
        except EventError as error:
            refuse(error)
        else:
            commit_and_send()
            flash(_("The seat has been given up."), "success")
            if current_user.is_organiser:
                flash_promoted(promoted)
        return redirect(back)
    what = _("the seat of %(name)s", name=attendee.name)
    return render_template(
        "events/confirm_cancel.html",
        form=form,
        what=what,
        cancel_url=back,
        event=attendee.registration.event,
    )


@bp.route("/events/<int:event_id>/profiles/<int:profile_id>/availability", methods=["GET", "POST"])
@login_required
def availability(event_id: int, profile_id: int):
    """Mark the slots a profile cannot meet in and how many meetings it wants."""
    event = get_event_or_404(event_id)
    profile = get_profile_or_404(profile_id)
    if not current_user.can_edit(profile):
        abort(403)
    if not services.is_registered(event.id, profile.id):
        flash(_("%(name)s is not registered for this event.", name=profile.name), "error")
        return redirect(url_for("events.detail", event_id=event.id))
    current = services.availability_of(event, profile)
    form = AvailabilityForm()
    form.unavailable.choices = [
        SelectChoice(number, f"{number}: {start:%H:%M}–{end:%H:%M}")
        for number, (start, end) in enumerate(services.slot_times(event), start=1)
    ]
    if request.method == "GET" and current is not None:
        form.unavailable.data = current.unavailable_slots
        form.desired_meetings.data = current.desired_meetings
    if form.validate_on_submit():
        try:
            services.save_availability(
                event, profile, form.unavailable.data or [], form.desired_meetings.data
            )
        except EventError as error:
            refuse(error, form)
        else:
            commit_and_send()
            flash(_("Your availability has been saved."), "success")
            return redirect(url_for("events.detail", event_id=event.id))
    return render_template("events/availability.html", event=event, profile=profile, form=form)


@bp.get("/profiles/<int:profile_id>/meet")
@login_required
def meet(profile_id: int):
    """Offer meeting requests and "must meet"/"not interested" toward a profile."""
    target = get_profile_or_404(profile_id)
    events = [e for e in services.upcoming_events() if services.is_registered(e.id, target.id)]
    sections = []
    for event in events:
        senders = [p for p in actable_profiles(event) if p.id != target.id]
        choices = [SelectChoice(p.id, p.name) for p in senders]
        request_form = MeetingRequestForm(event_id=event.id, prefix=f"r{event.id}")
        mark_form = MarkForm(event_id=event.id, prefix=f"m{event.id}")
        request_form.from_profile_id.choices = mark_form.from_profile_id.choices = choices
        states = [
            {
                "profile": p,
                "requests": services.requests_between(event.id, p.id, target.id),
                "mark": services.mark_of(event.id, p.id, target.id),
            }
            for p in senders
        ]
        sections.append(
            {"event": event, "request_form": request_form, "mark_form": mark_form, "states": states}
        )
    return render_template("events/meet.html", target=target, sections=sections)


def sender_for(event: Event, form) -> Profile:
    """Return the profile a wish is sent for, checking that the user may act for it."""
    sender = db.session.get(Profile, form.from_profile_id.data)
    if sender is None:
        abort(404)
    if not current_user.can_edit(sender):
        abort(403)
    return sender


def parse_event_field(form) -> Event:
    """Return the event named in a wish form's hidden field."""
    value = form.event_id.data or ""
    if not str(value).isdigit():
        raise bad_request(_("Unknown action."))
    return get_event_or_404(int(value))


def act_from_meet_page(profile_id: int, form_class, perform):
    """Validate a form posted from a profile's meet page, run ``perform`` and go back there.

    ``perform(event, sender, target, form)`` changes the models and returns the success message;
    it is built before the commit, which would expire the names it shows.
    """
    target = get_profile_or_404(profile_id)
    prefix = next((k[: k.index("-")] for k in request.form if k.endswith("-event_id")), "")
    form = form_class(prefix=prefix)
    event = parse_event_field(form)
    form.from_profile_id.choices = [
        SelectChoice(p.id, p.name) for p in actable_profiles(event) if p.id != target.id
    ]
    back = url_for("events.meet", profile_id=target.id)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(back)
    sender = sender_for(event, form)
    try:
        message = perform(event, sender, target, form)
    except EventError as error:
        refuse(error)
    else:
        commit_and_send()
        flash(message, "success")
    return redirect(back)


@bp.post("/profiles/<int:profile_id>/meet/request")
@login_required
def send_request(profile_id: int):
    """Send a meeting request to a profile."""

    def perform(event, sender, target, form) -> str:
        services.send_meeting_request(event, sender, target, form.message.data or "")
        return _("Your meeting request to %(name)s has been sent.", name=target.name)

    return act_from_meet_page(profile_id, MeetingRequestForm, perform)


@bp.post("/profiles/<int:profile_id>/meet/mark")
@login_required
def mark(profile_id: int):
    """Mark a profile "must meet" or "not interested", or clear the mark."""

    def perform(event, sender, target, form) -> str:
        services.set_mark(event, sender, target, form.kind.data or None)
        return _("Your wish has been saved.")

    return act_from_meet_page(profile_id, MarkForm, perform)


@bp.get("/my/events")
@login_required
def mine():
    """List the registrations and meeting requests of the user's profiles."""
    ids = [p.id for p in profiles_of(current_user)]
    incoming, outgoing = services.requests_of_profiles(ids)
    return render_template(
        "events/mine.html",
        registrations=services.registrations_of_profiles(ids),
        incoming=incoming,
        outgoing=outgoing,
        position=services.waiting_position,
        form=ActionForm(),
    )


@bp.get("/my/requests")
@login_required
def requests():
    """Show the meeting requests of the user's profiles, to answer them."""
    return redirect(url_for("events.mine") + "#requests")


def get_request(request_id: int) -> MeetingRequest:
    """Return a meeting request or answer 404."""
    meeting_request = db.session.get(MeetingRequest, request_id)
    if meeting_request is None:
        abort(404)
    return meeting_request


@bp.post("/requests/<int:request_id>/answer")
@login_required
def answer(request_id: int):
    """Accept or decline a meeting request (the asked side)."""
    meeting_request = get_request(request_id)
    if not current_user.can_edit(meeting_request.to_profile):
        abort(403)
    form = ActionForm()
    if not form.validate_on_submit() or form.action.data not in ("accept", "decline"):
        raise bad_request(_("Unknown action."))
    try:
        services.answer_request(meeting_request, form.action.data == "accept")
    except EventError as error:
        refuse(error)
    else:
        commit_and_send()
        flash(_("Your answer has been sent."), "success")
    return redirect(url_for("events.mine") + "#requests")


@bp.post("/requests/<int:request_id>/withdraw")
@login_required
def withdraw(request_id: int):
    """Withdraw a request (the asking side), or call off an agreed meeting (either side)."""
    meeting_request = get_request(request_id)
    allowed = current_user.can_edit(meeting_request.from_profile) or (
        meeting_request.status != PENDING and current_user.can_edit(meeting_request.to_profile)
    )
    if not allowed:
        abort(403)
    if not ActionForm().validate_on_submit():
        raise bad_request(_("Unknown action."))
    try:
        services.withdraw_request(meeting_request)
    except EventError as error:
        refuse(error)
    else:
        commit_and_send()
        flash(_("The meeting request has been withdrawn."), "success")
    return redirect(url_for("events.mine") + "#requests")


# -- organisers --------------------------------------------------------------------------------


def event_form_for(event: Event | None) -> EventForm:
    """Build the event form, filled from an event on first display."""
    if event is None or request.method == "POST":
        return EventForm()
    form = EventForm(obj=event)
    form.breaks.data = format_breaks(event.breaks or [])
    form.table_names.data = "\n".join(event.table_names or [])
    return form


@bp.route("/events/new", methods=["GET", "POST"])
@organiser_required
def create():
    """Create an event (organisers)."""
    form = event_form_for(None)
    if form.validate_on_submit():
        try:
            event = services.create_event(form.event_data())
        except EventError as error:
            refuse(error, form)
        else:
            event_id = event.id
            commit_and_send()
            flash(_("The event has been created."), "success")
            return redirect(url_for("events.detail", event_id=event_id))
    return render_template("events/form.html", form=form, event=None)


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@organiser_required
def edit(event_id: int):
    """Change an event (organisers); more seats promote from the waiting list."""
    event = get_event_or_404(event_id)
    form = event_form_for(event)
    if form.validate_on_submit():
        try:
            promoted = services.update_event(event, form.event_data())
        except EventError as error:
            refuse(error, form)
        else:
            commit_and_send()
            flash(_("Your changes have been saved."), "success")
            flash_promoted(promoted)
            return redirect(url_for("events.detail", event_id=event_id))
    return render_template("events/form.html", form=form, event=event)


@bp.get("/events/<int:event_id>/registrations")
@organiser_required
def manage(event_id: int):
    """List registrations and the waiting list with the organisers' actions."""
    event = get_event_or_404(event_id)
    registrations = services.registrations_of_event(event.id)
    waiting = services.waiting_list(event.id)
    capacity_form = CapacityForm(capacity=event.capacity)
    return render_template(
        "events/manage.html",
        event=event,
        confirmed=[r for r in registrations if r.status == CONFIRMED],
        waiting=waiting,
        cancelled=[r for r in registrations if r.status not in (CONFIRMED, WAITING)],
        figures=services.event_figures(event),
        capacity_form=capacity_form,
        form=ActionForm(),
    )


@bp.post("/events/<int:event_id>/capacity")
@organiser_required
def capacity(event_id: int):
    """Change the number of seats; more seats promote from the waiting list."""
    event = get_event_or_404(event_id)
    form = CapacityForm()
    if not form.validate_on_submit():
        for message in form.capacity.errors:
            flash(message, "error")
        return redirect(url_for("events.manage", event_id=event_id))
    try:
        promoted = services.change_capacity(event, form.capacity.data)
    except EventError as error:
        refuse(error)
    else:
        commit_and_send()
        flash(_("The capacity is now %(n)d seats.", n=form.capacity.data), "success")
        flash_promoted(promoted)
    return redirect(url_for("events.manage", event_id=event_id))


@bp.post("/registrations/<int:registration_id>/move")
@organiser_required
def move(registration_id: int):
    """Move a waiting registration up or down, or promote it now."""
    reg = get_registration(registration_id)
    event_id = reg.event_id
    form = ActionForm()
    if not form.validate_on_submit() or form.action.data not in ("up", "down", "promote"):
        raise bad_request(_("Unknown action."))
    try:
        if form.action.data == "promote":
            promoted = services.promote_manually(reg)
        else:
            promoted = services.move_waiting(reg, form.action.data)
    except EventError as error:
        refuse(error)
    else:
        commit_and_send()
        flash(_("The waiting list has been changed."), "success")
        flash_promoted(promoted)
    return redirect(url_for("events.manage", event_id=event_id) + "#waiting")


@bp.post("/attendees/<int:attendee_id>/attendance")
@organiser_required
def attendance(attendee_id: int):
    """Check an attendee in, mark a no-show, or undo."""
    attendee = get_attendee(attendee_id)
    event_id = attendee.event_id
    form = ActionForm()
    if not form.validate_on_submit():
        raise bad_request(_("Unknown action."))
    try:
        services.set_attendance(attendee, form.action.data)
    except EventError as error:
        refuse(error)
    else:
        commit_and_send()
    return redirect(url_for("events.manage", event_id=event_id) + f"#attendee-{attendee_id}")


@bp.get("/events/<int:event_id>/attendees.csv")
@organiser_required
def export_attendees(event_id: int):
    """Download the confirmed attendees as CSV."""
    event = get_event_or_404(event_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "registration",
            "arrival",
            "organisation",
            "kind",
            "name",
            "email",
            "checked_in",
            "no_show",
        ]
    )
    for attendee in services.confirmed_attendees(event.id):
        reg = attendee.registration
        writer.writerow(
            [
                reg.id,
                reg.seq,
                reg.profile.name,
                reg.profile.kind,
                attendee.name,
                attendee.email,
                attendee.checked_in_at.isoformat() if attendee.checked_in_at else "",
                "yes" if attendee.no_show else "",
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=event-{event.id}-attendees.csv"},
    )


@bp.get("/events/<int:event_id>/badges")
@organiser_required
def badges(event_id: int):
    """Show printable name badges of the confirmed attendees (A4, eight per page)."""
    event = get_event_or_404(event_id)
    return render_template(
        "events/badges.html", event=event, attendees=services.confirmed_attendees(event.id)
    )


@bp.get("/events/<int:event_id>/scheduling-input.json")
@organiser_required
def scheduling_input(event_id: int):
    """Return the scheduler's input for the event as JSON."""
    return services.scheduling_input(get_event_or_404(event_id))


@bp.get("/outbox")
@organiser_required
def outbox():
    """List the outgoing e-mails with their delivery state."""
    status = request.args.get("status", "")
    if status and status not in STATUSES:
        raise bad_request(_("Unknown action."))
    page_arg = request.args.get("page", "1")
    page = int(page_arg) if page_arg.isdigit() and 0 < int(page_arg) < 100_000 else 1
    pagination = db.paginate(
        mail.outbox_select(status), page=page, per_page=OUTBOX_PAGE_SIZE, error_out=False
    )
    return render_template(
        "events/outbox.html",
        pagination=pagination,
        status=status,
        statuses=STATUSES,
        counts=mail.outbox_counts(),
        configured=mail.mail_configured(),
        form=ConfirmForm(),
    )


@bp.post("/outbox/send")
@organiser_required
def outbox_send():
    """Try to send every unsent e-mail now."""
    if not ConfirmForm().validate_on_submit():
        raise bad_request(_("Unknown action."))
    if not mail.mail_configured():
        flash(_("No SMTP server is configured (MAIL_SERVER); nothing was sent."), "error")
    else:
        sent, failed = mail.send_all_unsent()
        flash(_("Sent: %(sent)d, failed: %(failed)d.", sent=sent, failed=failed), "info")
    current_app.logger.info("Outbox sent by %s", current_user.email)
    return redirect(url_for("events.outbox"))
