"""Event pages for organisers: events, the waiting list, check-in, attendee lists and badges."""

import csv
import io

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from matchmaker.events import queries, registrations
from matchmaker.events.errors import EventError
from matchmaker.events.forms import ActionForm, CapacityForm, EventForm, format_breaks
from matchmaker.events.models import CONFIRMED, WAITING, Event
from matchmaker.events.views.common import bp, flash_promoted, get_attendee, get_registration
from matchmaker.extensions import db
from matchmaker.web import bad_request, commit_and_send, organiser_required, refuse


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
            event = registrations.create_event(form.event_data())
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
    event = db.get_or_404(Event, event_id)
    form = event_form_for(event)
    if form.validate_on_submit():
        try:
            promoted = registrations.update_event(event, form.event_data())
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
    event = db.get_or_404(Event, event_id)
    everyone = queries.registrations_of_event(event.id)
    waiting = queries.waiting_list(event.id)
    capacity_form = CapacityForm(capacity=event.capacity)
    return render_template(
        "events/manage.html",
        event=event,
        confirmed=[r for r in everyone if r.status == CONFIRMED],
        waiting=waiting,
        cancelled=[r for r in everyone if r.status not in (CONFIRMED, WAITING)],
        figures=queries.event_figures(event),
        capacity_form=capacity_form,
        form=ActionForm(),
    )


@bp.post("/events/<int:event_id>/capacity")
@organiser_required
def capacity(event_id: int):
    """Change the number of seats; more seats promote from the waiting list."""
    event = db.get_or_404(Event, event_id)
    form = CapacityForm()
    if not form.validate_on_submit():
        for message in form.capacity.errors:
            flash(message, "error")
        return redirect(url_for("events.manage", event_id=event_id))
    try:
        promoted = registrations.change_capacity(event, form.capacity.data)
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
            promoted = registrations.promote_manually(reg)
        else:
            promoted = registrations.move_waiting(reg, form.action.data)
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
        registrations.set_attendance(attendee, form.action.data)
    except EventError as error:
        refuse(error)
    else:
        commit_and_send()
    return redirect(url_for("events.manage", event_id=event_id) + f"#attendee-{attendee_id}")


@bp.get("/events/<int:event_id>/attendees.csv")
@organiser_required
def export_attendees(event_id: int):
    """Download the confirmed attendees as CSV."""
    event = db.get_or_404(Event, event_id)
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
    for attendee in queries.confirmed_attendees(event.id):
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
    event = db.get_or_404(Event, event_id)
    return render_template(
        "events/badges.html", event=event, attendees=queries.confirmed_attendees(event.id)
    )


@bp.get("/events/<int:event_id>/scheduling-input.json")
@organiser_required
def scheduling_input(event_id: int):
    """Return the scheduler's input for the event as JSON."""
    return queries.scheduling_input(db.get_or_404(Event, event_id)).to_dict()
