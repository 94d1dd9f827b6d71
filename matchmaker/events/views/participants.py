"""Event pages for everybody: events, registrations, availability, meeting wishes and requests."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from matchmaker.core import clock
from matchmaker.core.i18n import recipient_language
from matchmaker.directory.models import Profile
from matchmaker.directory.queries import profiles_of
from matchmaker.events import programme, queries, registrations, wishes
from matchmaker.events.errors import EventError
from matchmaker.events.forms import (
    ActionForm,
    AvailabilityForm,
    ConfirmCancellationForm,
    ConfirmForm,
    MarkForm,
    MeetingRequestForm,
    RegistrationForm,
)
from matchmaker.events.models import PENDING, Event, MeetingRequest
from matchmaker.events.views.common import (
    actable_profiles,
    bp,
    flash_promoted,
    get_attendee,
    get_registration,
    profile_choices,
)
from matchmaker.extensions import db
from matchmaker.web import (
    bad_request,
    commit_and_send,
    hot_transaction,
    refuse,
    refuse_conflict,
)


@bp.get("/events")
def index():
    """List the events, upcoming first."""
    events = queries.upcoming_events()
    past = [e for e in queries.all_events() if e not in events]
    figures = {e.id: queries.event_figures(e) for e in events}
    return render_template("events/index.html", events=events, past=past, figures=figures)


@bp.get("/events/<int:event_id>")
def detail(event_id: int):
    """Show an event: programme, seats, and the current user's registrations."""
    event = db.get_or_404(Event, event_id)
    mine = []
    if current_user.is_authenticated:
        ids = [p.id for p in profiles_of(current_user)]
        mine = queries.registrations_of_profiles(ids, event.id)
    return render_template(
        "events/detail.html",
        event=event,
        figures=queries.event_figures(event),
        slots=programme.slot_times(event),
        is_open=queries.registration_open(event),
        now=clock.local_now(),
        mine=mine,
        position=queries.waiting_position,
    )


@bp.route("/events/<int:event_id>/register", methods=["GET", "POST"])
@login_required
def register(event_id: int):
    """Register attendees of one of the user's profiles; full events put them on the list."""
    # A registration reads the event only under its lock (enrol refuses a missing one); the
    # page, shown for a GET or a refusal, loads it below.
    if request.method != "POST":
        db.get_or_404(Event, event_id)
    profiles = profile_choices()
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
            with hot_transaction():  # the event's lock passes on before the disk write
                enrolment = registrations.enrol(
                    event_id,
                    profile,
                    form.people(),
                    user=current_user,
                    locale=recipient_language(current_user),
                )
            position, registration_id = enrolment.position, enrolment.registration_id
        except EventError as error:
            refuse(error, form)
        except IntegrityError:
            refuse_conflict(form)
        else:
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
    event = db.get_or_404(Event, event_id)
    form.add_empty_rows()
    figures = queries.event_figures(event)
    return render_template(
        "events/register.html",
        event=event,
        form=form,
        figures=figures,
        is_open=queries.registration_open(event),
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
        position=queries.waiting_position(reg),
        availability=queries.availability_of(reg.event, reg.profile),
    )


@bp.route("/registrations/<int:registration_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(registration_id: int):
    """Ask, then cancel a whole registration (owner or organiser)."""
    reg = get_registration(registration_id)
    # A POST without the confirmation page's field (an old button, a stray form) only asks.
    form = ConfirmCancellationForm()
    back = url_for("events.registration", registration_id=reg.id)
    if form.validate_on_submit():
        try:
            promoted = registrations.cancel_registration(
                reg, by_organiser=current_user.is_organiser
            )
        except EventError as error:
            refuse(error)
        else:
            commit_and_send()
            flash(_("The registration has been cancelled."), "success")
            if current_user.is_organiser:
                flash_promoted(promoted)
        return redirect(back)
    what = ngettext(
        "the registration of %(name)s (%(num)d seat)",
        "the registration of %(name)s (%(num)d seats)",
        reg.seats,
        name=reg.profile.name,
    )
    form.confirm.data = "yes"
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
            promoted = registrations.cancel_attendee(
                attendee, by_organiser=current_user.is_organiser
            )
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
    event = db.get_or_404(Event, event_id)
    profile = db.get_or_404(Profile, profile_id)
    if not current_user.can_edit(profile):
        abort(403)
    if not queries.is_registered(event.id, profile.id):
        flash(_("%(name)s is not registered for this event.", name=profile.name), "error")
        return redirect(url_for("events.detail", event_id=event.id))
    current = queries.availability_of(event, profile)
    form = AvailabilityForm()
    form.unavailable.choices = [
        SelectChoice(number, f"{number}: {start:%H:%M}–{end:%H:%M}")
        for number, (start, end) in enumerate(programme.slot_times(event), start=1)
    ]
    if request.method == "GET" and current is not None:
        form.unavailable.data = current.unavailable_slots
        form.desired_meetings.data = current.desired_meetings
    if form.validate_on_submit():
        try:
            wishes.save_availability(
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
    target = db.get_or_404(Profile, profile_id)
    events = [e for e in queries.upcoming_events() if queries.is_registered(e.id, target.id)]
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
                "requests": queries.requests_between(event.id, p.id, target.id),
                "mark": queries.mark_of(event.id, p.id, target.id),
            }
            for p in senders
        ]
        sections.append(
            {"event": event, "request_form": request_form, "mark_form": mark_form, "states": states}
        )
    return render_template("events/meet.html", target=target, sections=sections)


def sender_for(event: Event, form) -> Profile:
    """Return the profile a wish is sent for, checking that the user may act for it."""
    sender = db.get_or_404(Profile, form.from_profile_id.data)
    if not current_user.can_edit(sender):
        abort(403)
    return sender


def parse_event_field(form) -> Event:
    """Return the event named in a wish form's hidden field."""
    value = form.event_id.data or ""
    if not str(value).isdigit():
        raise bad_request(_("Unknown action."))
    return db.get_or_404(Event, int(value))


def act_from_meet_page(profile_id: int, form_class, perform):
    """Validate a form posted from a profile's meet page, run ``perform`` and go back there.

    ``perform(event, sender, target, form)`` changes the models and returns the success message;
    it is built before the commit, which would expire the names it shows.
    """
    target = db.get_or_404(Profile, profile_id)
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
        wishes.send_meeting_request(event, sender, target, form.message.data or "")
        return _("Your meeting request to %(name)s has been sent.", name=target.name)

    return act_from_meet_page(profile_id, MeetingRequestForm, perform)


@bp.post("/profiles/<int:profile_id>/meet/mark")
@login_required
def mark(profile_id: int):
    """Mark a profile "must meet" or "not interested", or clear the mark."""

    def perform(event, sender, target, form) -> str:
        wishes.set_mark(event, sender, target, form.kind.data or None)
        return _("Your wish has been saved.")

    return act_from_meet_page(profile_id, MarkForm, perform)


@bp.get("/my/events")
@login_required
def mine():
    """List the registrations and meeting requests of the user's profiles."""
    ids = [p.id for p in profiles_of(current_user)]
    incoming, outgoing = queries.requests_of_profiles(ids)
    return render_template(
        "events/mine.html",
        registrations=queries.registrations_of_profiles(ids),
        incoming=incoming,
        outgoing=outgoing,
        position=queries.waiting_position,
        form=ActionForm(),
    )


@bp.get("/my/requests")
@login_required
def requests():
    """Show the meeting requests of the user's profiles, to answer them."""
    return redirect(url_for("events.mine") + "#requests")


@bp.post("/requests/<int:request_id>/answer")
@login_required
def answer(request_id: int):
    """Accept or decline a meeting request (the asked side)."""
    meeting_request = db.get_or_404(MeetingRequest, request_id)
    if not current_user.can_edit(meeting_request.to_profile):
        abort(403)
    form = ActionForm()
    if not form.validate_on_submit() or form.action.data not in ("accept", "decline"):
        raise bad_request(_("Unknown action."))
    try:
        wishes.answer_request(meeting_request, form.action.data == "accept")
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
    meeting_request = db.get_or_404(MeetingRequest, request_id)
    allowed = current_user.can_edit(meeting_request.from_profile) or (
        meeting_request.status != PENDING and current_user.can_edit(meeting_request.to_profile)
    )
    if not allowed:
        abort(403)
    if not ActionForm().validate_on_submit():
        raise bad_request(_("Unknown action."))
    try:
        wishes.withdraw_request(meeting_request)
    except EventError as error:
        refuse(error)
    else:
        commit_and_send()
        flash(_("The meeting request has been withdrawn."), "success")
    return redirect(url_for("events.mine") + "#requests")
