"""Job pages: progress that updates itself, cancel, and the download of a job's file."""

from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from matchmaker.core.i18n import current_language
from matchmaker.directory import importing
from matchmaker.directory.forms import ImportConfirmForm
from matchmaker.directory.import_views import bp as imports_bp
from matchmaker.directory.import_views import preview_page, staged_or_404
from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.jobs import services
from matchmaker.jobs.forms import CancelJobForm, TrainReRankerForm
from matchmaker.jobs.models import FINISHED, Job
from matchmaker.scheduling import exports, publishing, reminders, versions
from matchmaker.scheduling.forms import PublishForm, ReminderForm, ReplanForm, ScheduleActionForm
from matchmaker.scheduling.models import NO_REQUEST, REMINDER_AUDIENCES
from matchmaker.scheduling.versions import ScheduleError
from matchmaker.scheduling.views import bp as schedule_bp
from matchmaker.scheduling.views import overview_url, version_or_404
from matchmaker.web import bad_request, flash_form_errors, organiser_required

bp = Blueprint("jobs", __name__)

# Schedule jobs of one event exclude each other (one build, re-plan or publish at a time);
# PDFs have a lane of their own.
SCHEDULE_LANE = "schedule"
PDF_LANE = "pdf"
# One reminder job per event at a time: a second confirmation waits for the first to end.
REMINDER_LANE = "reminders"
# Rows a confirmation page lists; everybody is in its CSV (thousands at a trade fair).
LISTED = 100


def get_job_or_404(job_id: int) -> Job:
    """Return the job or answer 404."""
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    return job


def start(kind: str, event: Event | None, *, lane: str | None, params: dict | None = None):
    """Queue a job for the event and answer with its page; tell the user when one already runs."""
    # The worker writes the job's e-mails without a request of its own: their links name the
    # site the organiser used (a reverse proxy's host and scheme, as the request saw them).
    params = {**(params or {}), "origin": request.url_root}
    try:
        job = services.submit(
            kind, event, current_user, lane=lane, locale=current_language(), params=params
        )
    except services.JobConflict as conflict:
        if lane == REMINDER_LANE:
            flash(_("Reminders are already being sent for this event."), "error")
        else:
            flash(
                _("A schedule job is already running for this event; please wait until it ends."),
                "error",
            )
        if conflict.active is not None:
            return redirect(url_for("jobs.show", job_id=conflict.active.id))
        return redirect(url_for("scheduling.overview", event_id=event.id))
    db.session.commit()
    if not services.enqueue(job):
        db.session.commit()
        flash(job.error, "error")
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.get("/jobs/<int:job_id>")
@organiser_required
def show(job_id: int):
    """Show a job's progress (reloading while it runs) and its outcome."""
    job = get_job_or_404(job_id)
    services.fail_abandoned_job(job)
    db.session.commit()
    file = services.result_file(job) if job.status == FINISHED else None
    return render_template(
        "jobs/show.html",
        job=job,
        file=file,
        form=CancelJobForm(),
        step=services.step_label(job),
        detail=services.detail_label(job) if job.is_active else "",
        kind=services.kind_label(job),
    )


@bp.get("/jobs/<int:job_id>/status.json")
@organiser_required
def status(job_id: int):
    """Answer the job's state as JSON, for the live updates of its page."""
    job = get_job_or_404(job_id)
    services.fail_abandoned_job(job)
    db.session.commit()
    response = jsonify(services.status_document(job))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/jobs/<int:job_id>/cancel")
@organiser_required
def cancel(job_id: int):
    """Cancel a queued or running job."""
    job = get_job_or_404(job_id)
    if not CancelJobForm().validate_on_submit():
        flash(_("The form has expired; please try again."), "error")
    elif services.cancel(job):
        flash(_("The job was cancelled; nothing of it was saved."), "success")
    else:
        flash(_("The job had already ended."), "info")
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.get("/jobs/<int:job_id>/download")
@organiser_required
def download(job_id: int):
    """Download the file a finished job produced."""
    job = get_job_or_404(job_id)
    file = services.result_file(job) if job.status == FINISHED else None
    if file is None:
        abort(404)
    version = job.event and versions.latest_version(job.event)
    if version is not None and version.number == (job.result or {}).get("version"):
        publishing.record_print(version, "pdf", current_user)
        db.session.commit()
    return Response(
        file.data,
        mimetype=file.mimetype,
        headers={"Content-Disposition": f"attachment; filename={file.filename}"},
    )


# The schedule's long actions start jobs. They are routes of the schedule blueprint (their
# endpoints stay scheduling.*), lent from here because the jobs area sits above scheduling.


@schedule_bp.post("/events/<int:event_id>/schedule/build")
@organiser_required
def build(event_id: int):
    """Queue a fresh build of the draft; the job page shows its progress."""
    event = db.get_or_404(Event, event_id)
    if not ScheduleActionForm().validate_on_submit():
        flash_form_errors(ScheduleActionForm())
        return redirect(overview_url(event_id))
    return start("build", event, lane=SCHEDULE_LANE)


@schedule_bp.post("/events/<int:event_id>/schedule/reoptimise")
@organiser_required
def reoptimise(event_id: int):
    """Queue a re-optimisation around the locked meetings, or a re-plan from a slot."""
    event = db.get_or_404(Event, event_id)
    form = ReplanForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(overview_url(event_id))
    from_slot = form.from_slot.data
    if from_slot is not None and not 1 <= from_slot <= event.slot_count:
        flash(_("Choose a slot from 1 to %(n)d.", n=event.slot_count), "error")
        return redirect(overview_url(event_id))
    kind = "replan" if from_slot else "reoptimise"
    return start(kind, event, lane=SCHEDULE_LANE, params={"from_slot": from_slot})


def publish_preview_or_back(event: Event) -> publishing.PublishPreview:
    """Return who publishing would e-mail; without a draft, go back to the schedule and say why."""
    try:
        return publishing.publish_preview(event)
    except ScheduleError as error:
        flash(error.message, "error")
        abort(redirect(overview_url(event.id)))


@schedule_bp.route("/events/<int:event_id>/schedule/publish", methods=["GET", "POST"])
@organiser_required
def publish(event_id: int):
    """Show who gets an e-mail; queue the publication once the organiser confirms that page."""
    event = db.get_or_404(Event, event_id)
    preview = publish_preview_or_back(event)
    form = PublishForm()
    # Only the confirmation page's form carries the token; any other POST just asks.
    if form.validate_on_submit():
        if form.confirmed.data == preview.token:
            # The job checks the token again: the draft may still change before it runs.
            return start("publish", event, lane=SCHEDULE_LANE, params={"confirmed": preview.token})
        flash(_("The draft has changed since; please check who gets an e-mail again."), "error")
    form.confirmed.data = preview.token
    return render_template(
        "scheduling/confirm_publish.html", event=event, preview=preview, form=form, listed=LISTED
    )


@schedule_bp.get("/events/<int:event_id>/schedule/publish/recipients.csv")
@organiser_required
def publish_recipients(event_id: int):
    """Download everybody the publication would e-mail, with their addresses, as CSV."""
    event = db.get_or_404(Event, event_id)
    preview = publish_preview_or_back(event)
    return csv_download(exports.publish_recipients_csv(preview), f"event-{event.id}-publish")


@schedule_bp.post("/events/<int:event_id>/schedule/agendas.pdf")
@organiser_required
def agendas_pdf(event_id: int):
    """Queue the PDF of every agenda (one A4 page each); the job page offers the download."""
    event = db.get_or_404(Event, event_id)
    version_or_404(event)
    if not ScheduleActionForm().validate_on_submit():
        flash_form_errors(ScheduleActionForm())
        return redirect(overview_url(event_id))
    return start("agendas_pdf", event, lane=PDF_LANE)


def repeat_after() -> timedelta:
    """Return how long a reminded participant is left out of the same group's next reminder."""
    return timedelta(hours=current_app.config["REMINDER_REPEAT_HOURS"])


@schedule_bp.route("/events/<int:event_id>/reminders", methods=["GET", "POST"])
@organiser_required
def remind(event_id: int):
    """Show who gets a reminder; queue the e-mails once the organiser confirms that page."""
    event = db.get_or_404(Event, event_id)
    form = ReminderForm()
    if request.method == "POST":
        audience, again = checked_audience(form.audience.data), bool(form.again.data)
    else:
        audience, again = audience_asked()
    preview = reminders.reminder_preview(event, audience, again=again, repeat_after=repeat_after())
    if form.validate_on_submit():
        if form.confirmed.data == preview.token and preview.recipients:
            # The job checks the token again: the group may still change before it runs.
            params = {"audience": audience, "again": again, "confirmed": preview.token}
            return start("reminders", event, lane=REMINDER_LANE, params=params)
        flash(_("Who gets the reminder has changed since; please check the list again."), "error")
    elif request.method == "POST":
        flash_form_errors(form)
    form.audience.data, form.again.data, form.confirmed.data = audience, again, preview.token
    return render_template(
        "scheduling/confirm_reminders.html",
        event=event,
        preview=preview,
        form=form,
        audiences=reminders.AUDIENCES,
        repeat_hours=current_app.config["REMINDER_REPEAT_HOURS"],
        listed=LISTED,
    )


@schedule_bp.get("/events/<int:event_id>/reminders/recipients.csv")
@organiser_required
def reminder_recipients(event_id: int):
    """Download everybody the reminder would reach, with the people who get it, as CSV."""
    event = db.get_or_404(Event, event_id)
    audience, again = audience_asked()
    preview = reminders.reminder_preview(event, audience, again=again, repeat_after=repeat_after())
    return csv_download(exports.reminder_recipients_csv(preview), f"event-{event.id}-{audience}")


def checked_audience(audience: str | None) -> str:
    """Return the reminder group, or answer 400 for one that does not exist."""
    if audience not in REMINDER_AUDIENCES:
        raise bad_request(_("Choose who gets the reminder."))
    return audience


def audience_asked() -> tuple[str, bool]:
    """Return the reminder group a link asks for and whether it includes the recently reminded."""
    again = request.args.get("again") == "1"
    return checked_audience(request.args.get("audience", NO_REQUEST)), again


def csv_download(document: str, name: str) -> Response:
    """Answer a CSV document as a file download."""
    return Response(
        document,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}.csv"},
    )


@bp.post("/organiser/reranker/train")
@organiser_required
def train_reranker():
    """Queue training the re-ranker on all feedback; the job page shows the outcome."""
    if not TrainReRankerForm().validate_on_submit():
        flash_form_errors(TrainReRankerForm())
        return redirect(url_for("core.index"))
    return start("train_reranker", None, lane=None)


@imports_bp.post("/directory/import/<token>")
@organiser_required
def confirm(token: str):
    """Queue the import of a staged file after its preview; the job page shows its progress.

    The rows are checked here as in the preview (a file with a bad row is not queued); the
    job checks them again and writes them all, or nothing.
    """
    staged = staged_or_404(token)
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    for job in services.active_jobs_of_kind("import"):
        if job.params.get("token") == token:  # a second click: follow the first job
            return redirect(url_for("jobs.show", job_id=job.id))
    try:
        report = importing.import_profiles(staged.data, staged.filename, dry_run=True)
    except importing.ImportFileError as exc:
        db.session.rollback()
        return preview_page(staged, None, str(exc)), 400
    if not report.ok:
        db.session.rollback()
        return preview_page(staged, report, ""), 400
    db.session.rollback()
    return start("import", None, lane=None, params={"token": token, "rows": len(report.rows)})
