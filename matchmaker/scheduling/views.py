"""Schedule pages: the organisers' draft with edits, publishing, print and export; agendas."""

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from matchmaker.core.clock import local_now
from matchmaker.directory.models import Profile
from matchmaker.events.models import Event
from matchmaker.events.programme import slot_times
from matchmaker.events.queries import confirmed_attendees, confirmed_names
from matchmaker.extensions import db
from matchmaker.matching import feedback as matching_feedback
from matchmaker.scheduling import (
    agendas,
    building,
    editing,
    exports,
    feedback,
    publishing,
    queries,
    reminders,
    versions,
)
from matchmaker.scheduling.forms import (
    AddMeetingForm,
    MeetingActionForm,
    MeetingRatingForm,
    MoveForm,
    ReplanForm,
    ScheduleActionForm,
    SwapForm,
)
from matchmaker.scheduling.models import ScheduleVersion
from matchmaker.scheduling.problem import absent_profiles, profile_id_of
from matchmaker.scheduling.versions import ScheduleError
from matchmaker.web import commit_and_send, flash_form_errors, organiser_required, refuse

bp = Blueprint("scheduling", __name__)


def overview_url(event_id: int, anchor: str = "") -> str:
    """Return the organisers' schedule page, optionally at an anchor."""
    return url_for("scheduling.overview", event_id=event_id) + (f"#{anchor}" if anchor else "")


def version_or_404(event) -> ScheduleVersion:
    """Return the newest version, or answer 404 before the first build."""
    version = versions.latest_version(event)
    if version is None:
        abort(404)
    return version


def attendee_names(event) -> dict[int, list[str]]:
    """Map each confirmed profile to the names of its attendees."""
    names: dict[int, list[str]] = {}
    for attendee in confirmed_attendees(event.id):
        names.setdefault(attendee.registration.profile_id, []).append(attendee.name)
    return names


# -- the organisers' draft ---------------------------------------------------------------------


@bp.get("/events/<int:event_id>/schedule")
@organiser_required
def overview(event_id: int):
    """Show the schedule: summary, grid, who got few meetings, changes since the last print."""
    event = db.get_or_404(Event, event_id)
    version = versions.latest_version(event)
    context = {
        "event": event,
        "version": version,
        "versions": versions.versions_of(event),
        "published": versions.published_version(event),
        "form": ScheduleActionForm(),
        "replan_form": ReplanForm(),
        "slot_times": slot_times(event),
    }
    if version is not None:
        printed, changes = publishing.changes_since_print(event)
        absent = absent_profiles(event)
        context.update(
            grid=agendas.with_breaks(event, agendas.grid(event, version)),
            score_level=agendas.score_colours(),
            rows=agendas.participant_rows(event, version),
            printed=printed,
            changes=changes,
            absent_names=sorted(versions.names_of(absent).values()),
            open_slot=building.first_open_slot(event, local_now()),
        )
    return render_template("scheduling/overview.html", **context)


@bp.get("/events/<int:event_id>/dashboard")
@organiser_required
def dashboard(event_id: int):
    """Show the event at a glance: seats, requests, wishes, meetings, attendance, reminders."""
    event = db.get_or_404(Event, event_id)
    return render_template(
        "scheduling/dashboard.html",
        event=event,
        board=queries.dashboard(event),
        audiences=reminders.AUDIENCES,
        summary=feedback.event_summary(event),
    )


@bp.get("/events/<int:event_id>/dashboard/<name>.csv")
@organiser_required
def dashboard_csv(event_id: int, name: str):
    """Download one of the dashboard's lists as CSV."""
    event = db.get_or_404(Event, event_id)
    if name not in exports.DASHBOARD_LISTS:
        abort(404)
    return Response(
        exports.dashboard_csv(event, name),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=event-{event.id}-{name}.csv"},
    )


@bp.get("/events/<int:event_id>/schedule/meetings/<key>")
@organiser_required
def meeting(event_id: int, key: str):
    """Show one meeting with the forms to move, swap, lock or remove it."""
    event = db.get_or_404(Event, event_id)
    version = version_or_404(event)
    found = next((m for m in version.meetings if m.key == key), None)
    if found is None:
        abort(404)
    others = [m for m in version.meetings if m.key != key]
    return render_template(
        "scheduling/meeting.html",
        event=event,
        version=version,
        meeting=found,
        others=others,
        why=agendas.why_line(found),
        slot_times=slot_times(event),
        move_form=MoveForm(meeting=key, slot=found.slot, table=found.table),
        swap_form=SwapForm(meeting=key),
        action_form=MeetingActionForm(meeting=key),
    )


def run_edit(event_id: int, form, change, success: str):
    """Validate an edit form, apply the change, commit or refuse; return to the overview."""
    event = db.get_or_404(Event, event_id)
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(overview_url(event_id, "grid"))
    try:
        change(event)
    except ScheduleError as error:
        refuse(error)
    else:
        commit_and_send()
        flash(success, "success")
    return redirect(overview_url(event_id, "grid"))


@bp.post("/events/<int:event_id>/schedule/move")
@organiser_required
def move(event_id: int):
    """Move a meeting to another slot and table."""
    form = MoveForm()
    return run_edit(
        event_id,
        form,
        lambda event: editing.move_meeting(
            event, current_user, form.meeting.data, form.slot.data, form.table.data
        ),
        _("The meeting has been moved."),
    )


@bp.post("/events/<int:event_id>/schedule/swap")
@organiser_required
def swap(event_id: int):
    """Exchange the places of two meetings."""
    form = SwapForm()
    return run_edit(
        event_id,
        form,
        lambda event: editing.swap_meetings(
            event, current_user, form.meeting.data, form.other.data
        ),
        _("The meetings have been swapped."),
    )


@bp.post("/events/<int:event_id>/schedule/meeting-action")
@organiser_required
def meeting_action(event_id: int):
    """Lock, release or remove a meeting."""
    form = MeetingActionForm()
    action = form.action.data

    def change(event):
        if action == "remove":
            editing.remove_meeting(event, current_user, form.meeting.data)
        else:
            editing.set_locked(event, current_user, form.meeting.data, action == "lock")

    messages = {
        "lock": _("The meeting is locked; re-optimising keeps it where it is."),
        "unlock": _("The meeting is released."),
        "remove": _("The meeting has been removed."),
    }
    return run_edit(event_id, form, change, messages.get(action, ""))


@bp.route("/events/<int:event_id>/schedule/add", methods=["GET", "POST"])
@organiser_required
def add(event_id: int):
    """Add a meeting of two participants by hand."""
    event = db.get_or_404(Event, event_id)
    version = version_or_404(event)
    form = AddMeetingForm()
    if request.method == "POST":
        return run_edit(
            event_id,
            form,
            lambda event: editing.add_meeting(
                event, current_user, form.a.data, form.b.data, form.slot.data, form.table.data
            ),
            _("The meeting has been added."),
        )
    ids = [profile_id_of(p["id"]) for p in version.problem.get("participants", [])]
    names = versions.names_of(ids)
    slot = request.args.get("slot", type=int)
    table = request.args.get("table", type=int)
    return render_template(
        "scheduling/add.html",
        event=event,
        version=version,
        form=AddMeetingForm(slot=slot, table=table),
        participants=sorted(names.items(), key=lambda item: item[1]),
        slot_times=slot_times(event),
    )


# -- print and export --------------------------------------------------------------------------


@bp.get("/schedule-print.css")
def print_css():
    """Serve the print sheets' stylesheet (inline styles are barred by the CSP)."""
    css = render_template("scheduling/_print_style.css")
    return Response(css, mimetype="text/css", headers={"Cache-Control": "public, max-age=3600"})


def print_context(event, version) -> dict:
    """Return what every print page needs."""
    return {
        "event": event,
        "version": version,
        "attendees": attendee_names(event),
        "printed_at": local_now(),
    }


def agenda_pages(event, version, profile_id: int | None) -> list[dict]:
    """Return one agenda page per participant (or only the given one), by organisation."""
    profiles = queries.version_profiles(version)
    if profile_id is not None:
        profiles = [p for p in profiles if p.id == profile_id]
        if not profiles:
            abort(404)
    index = agendas.VersionIndex(version)
    return [
        {
            "profile": p,
            "rows": agendas.with_breaks(event, agendas.agenda(event, version, p.id, index)),
            "shortfall": agendas.shortfall(version, p.id, index),
        }
        for p in profiles
    ]


@bp.get("/events/<int:event_id>/schedule/print/agendas")
@organiser_required
def print_agendas(event_id: int):
    """Show the print-ready agendas: one A4 page per participant."""
    event = db.get_or_404(Event, event_id)
    version = version_or_404(event)
    pages = agenda_pages(event, version, request.args.get("profile", type=int))
    publishing.record_print(version, "agendas", current_user)
    db.session.commit()
    return render_template(
        "scheduling/print_agendas.html", pages=pages, **print_context(event, version)
    )


@bp.get("/events/<int:event_id>/schedule/print/tables")
@organiser_required
def print_tables(event_id: int):
    """Show one print page per table: who sits there in which slot."""
    return grid_print_page(event_id, "tables")


@bp.get("/events/<int:event_id>/schedule/print/grid")
@organiser_required
def print_grid(event_id: int):
    """Show the master grid (slots × tables) ready to print."""
    return grid_print_page(event_id, "grid")


def grid_print_page(event_id: int, kind: str):
    """Render a print page built from the slot × table grid ("tables" or "grid") and log it."""
    event = db.get_or_404(Event, event_id)
    version = version_or_404(event)
    grid = agendas.with_breaks(event, agendas.grid(event, version))
    publishing.record_print(version, kind, current_user)
    db.session.commit()
    return render_template(
        f"scheduling/print_{kind}.html", grid=grid, **print_context(event, version)
    )


@bp.get("/events/<int:event_id>/schedule/meetings.csv")
@organiser_required
def meetings_csv(event_id: int):
    """Download every meeting of the newest version as CSV."""
    event = db.get_or_404(Event, event_id)
    version = version_or_404(event)
    return Response(
        exports.meetings_csv(event, version),
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f"attachment; filename=event-{event.id}-meetings-v{version.number}.csv"
            )
        },
    )


def json_download(data: dict, filename: str) -> Response:
    """Return data as a JSON file download."""
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@bp.get("/events/<int:event_id>/schedule/schedule.json")
@organiser_required
def schedule_json(event_id: int):
    """Download the newest version in the solver's schedule format."""
    event = db.get_or_404(Event, event_id)
    version = version_or_404(event)
    return json_download(
        agendas.schedule_document(version),
        f"event-{event.id}-schedule-v{version.number}.json",
    )


@bp.get("/events/<int:event_id>/schedule/problem.json")
@organiser_required
def problem_json(event_id: int):
    """Download the solver problem the newest version was made for."""
    event = db.get_or_404(Event, event_id)
    version = version_or_404(event)
    return json_download(version.problem, f"event-{event.id}-problem-v{version.number}.json")


# -- participants ------------------------------------------------------------------------------


def agenda_access(event_id: int, profile_id: int):
    """Return the event and profile if the user is an organiser or owns the profile."""
    event = db.get_or_404(Event, event_id)
    profile = db.get_or_404(Profile, profile_id)
    if not current_user.can_edit(profile):
        abort(403)
    return event, profile


@bp.get("/agenda")
@login_required
def mine():
    """List the published agendas of the member's profiles."""
    return render_template("scheduling/mine.html", agendas=agendas.my_agendas(current_user))


@bp.get("/events/<int:event_id>/agenda/<int:profile_id>")
@login_required
def my_agenda(event_id: int, profile_id: int):
    """Show a participant's published agenda (owner or organiser)."""
    event, profile = agenda_access(event_id, profile_id)
    version = versions.published_version(event)
    taking_part = version is not None and profile.id in versions.participants_of(version)
    # the agenda and the shortfall read the version (and its agreed requests) once
    index = agendas.VersionIndex(version) if taking_part else None
    can_rate = profile.owner_id == current_user.id
    rows = agendas.agenda(event, version, profile.id, index) if taking_part else []
    return render_template(
        "scheduling/agenda.html",
        event=event,
        profile=profile,
        version=version,
        taking_part=taking_part,
        rows=agendas.with_breaks(event, rows),
        shortfall=agendas.shortfall(version, profile.id, index) if taking_part else None,
        attendees=confirmed_names(event.id, profile.id),
        # only the participant rates a meeting, once its slot has begun (an organiser's view
        # shows no ratings: none are read)
        can_rate=can_rate,
        started={
            r.meeting.key for r in rows if r.meeting and feedback.has_started(event, r.meeting)
        }
        if can_rate
        else set(),
        ratings=feedback.ratings_by_key(event, profile) if can_rate else {},
    )


def parse_stars(raw: str | None) -> int | None:
    """Read the stars of the rating form (None when it is no whole number)."""
    try:
        return int(raw or "")
    except ValueError:
        return None


@bp.route(
    "/events/<int:event_id>/agenda/<int:profile_id>/meetings/<key>/rating",
    methods=["GET", "POST"],
)
@login_required
def rate(event_id: int, profile_id: int, key: str):
    """Rate a meeting of the published agenda: stars and follow-up (its participant only)."""
    event = db.get_or_404(Event, event_id)
    profile = db.get_or_404(Profile, profile_id)
    if profile.owner_id != current_user.id:
        abort(403)
    try:
        meeting = feedback.rateable_meeting(event, key, profile)
    except feedback.RatingError:
        abort(404)
    rating = feedback.rating_of(event, key, profile)
    form = MeetingRatingForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            flash_form_errors(form)
            status = 400
        else:
            try:
                feedback.rate_meeting(
                    event, key, profile, parse_stars(form.stars.data), form.follow_up.data
                )
            except feedback.RatingError as error:
                refuse(error, form)
                status = 400
            else:
                db.session.commit()
                flash(_("Thank you, your rating was saved."), "success")
                return redirect(
                    url_for("scheduling.my_agenda", event_id=event.id, profile_id=profile.id)
                )
    elif rating is not None:
        form.stars.data = str(rating.stars)
        form.follow_up.data = rating.follow_up
    return (
        render_template(
            "scheduling/rate.html",
            event=event,
            profile=profile,
            meeting=meeting,
            partner=meeting.partner_of(profile.id),
            started=feedback.has_started(event, meeting),
            form=form,
            stars=feedback.STARS,
        ),
        status,
    )


@bp.get("/events/<int:event_id>/feedback")
@organiser_required
def feedback_summary(event_id: int):
    """Show the organisers what the participants of an event said (counts only)."""
    event = db.get_or_404(Event, event_id)
    return render_template(
        "events/feedback.html",
        event=event,
        summary=feedback.event_summary(event),
        artefact=matching_feedback.current_artefact(),
    )


@bp.get("/events/<int:event_id>/agenda/<int:profile_id>.ics")
@login_required
def my_agenda_ics(event_id: int, profile_id: int):
    """Download a participant's published meetings as an iCalendar file."""
    event, profile = agenda_access(event_id, profile_id)
    version = versions.published_version(event)
    if version is None or profile.id not in versions.participants_of(version):
        abort(404)
    return Response(
        exports.agenda_ics(event, version, profile),
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f"attachment; filename=event-{event.id}-agenda-{profile.id}.ics"
        },
    )
