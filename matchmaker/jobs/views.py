"""Job pages: progress that reloads itself, cancel, and the download of a job's file."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from matchmaker.core.i18n import current_language
from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.jobs import services
from matchmaker.jobs.forms import CancelJobForm
from matchmaker.jobs.models import FINISHED, Job
from matchmaker.scheduling import publishing, versions
from matchmaker.web import organiser_required

bp = Blueprint("jobs", __name__)


def get_job_or_404(job_id: int) -> Job:
    """Return the job or answer 404."""
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    return job


def start(kind: str, event: Event, *, lane: str | None, params: dict | None = None):
    """Queue a job for the event and answer with its page; tell the user when one already runs."""
    try:
        job = services.submit(
            kind, event, current_user, lane=lane, locale=current_language(), params=params
        )
    except services.JobConflict as conflict:
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
        kind=services.kind_label(job),
    )


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
