"""What a worker runs: one entry point per job, and one function per kind of work.

Each kind reports its progress through ``services.report`` and does its writes in the session;
``run`` commits them together with the job's "finished" mark, or rolls them back and records
why the job failed.
"""

import logging
import time
from collections.abc import Callable

from flask import Flask, current_app, has_app_context, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from rq import get_current_job

from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.jobs import services
from matchmaker.jobs.models import Job, JobFile
from matchmaker.mail import services as mail
from matchmaker.scheduling import building, exports, publishing, versions
from matchmaker.scheduling.solver import Progress
from matchmaker.scheduling.versions import ScheduleError
from matchmaker.scheduling.views import agenda_pages, print_context

log = logging.getLogger(__name__)
MAIL_CHUNK = 20


def worker_app() -> Flask:
    """Return the app the worker pushed before forking (``flask jobs worker``)."""
    if not has_app_context():
        raise RuntimeError("Run the worker with `flask jobs worker`: it provides the app.")
    return current_app._get_current_object()


def run(job_id: int) -> str:
    """Run one job from the jobs table; the RQ entry point."""
    app = worker_app()
    with app.app_context():
        rq_job = get_current_job()
        if not services.start(job_id, rq_job.worker_name if rq_job else None):
            return "not started: cancelled or gone"
        job = db.session.get(Job, job_id)
        with app.test_request_context(), force_locale(job.locale):
            return _run_started(job)


def _run_started(job: Job) -> str:
    work = KINDS[job.kind]
    try:
        result, file = work(job)
        if services.finish(job.id, result, file):
            db.session.commit()
            mail.deliver_new()
            return "finished"
        db.session.rollback()
        mail.discard_new()
        return "dropped: no longer running"
    except services.JobCancelled:
        db.session.rollback()
        mail.discard_new()
        return "cancelled"
    except ScheduleError as error:
        db.session.rollback()
        mail.discard_new()
        services.fail(job.id, error.message)
        return "refused"
    except Exception:
        db.session.rollback()
        mail.discard_new()
        log.exception("Job %s (%s) failed", job.id, job.kind)
        services.fail(job.id, _("An unexpected error stopped this job; nothing was saved."))
        raise


def _event(job: Job) -> Event:
    event = db.session.get(Event, job.event_id)
    if event is None:
        raise ScheduleError(_("The event no longer exists."))
    return event


class SolverProgress:
    """Record the solver's phase and best schedule so far, at most every few seconds.

    The solver calls it between its phases, before anything of the new draft is written, so
    the write on a connection of its own never waits for the job's own session.
    """

    def __init__(self, job_id: int, interval: float) -> None:
        self.job_id = job_id
        self.interval = interval
        self.last_write = float("-inf")
        self.last_phase = ""

    def __call__(self, progress: Progress) -> None:
        """Write the progress when the phase changed or the interval has passed."""
        now = time.monotonic()
        if progress.phase == self.last_phase and now - self.last_write < self.interval:
            return
        self.last_write, self.last_phase = now, progress.phase
        share = min(1.0, progress.elapsed / max(progress.time_limit, 0.001))
        detail = {
            "phase": progress.phase,
            "placed": progress.placed,
            "score": round(progress.score, 1),
            "holes": progress.holes,
        }
        services.report(self.job_id, 10 + round(85 * share), "solving", detail)


def solver_progress(job: Job) -> SolverProgress:
    """Return the progress writer of a schedule job."""
    return SolverProgress(job.id, float(current_app.config["JOBS_PROGRESS_SECONDS"]))


def build(job: Job) -> tuple[dict, None]:
    """Build a fresh draft with the solver, reporting its phases and best so far."""
    event = _event(job)
    services.report(job.id, 10, "solving")
    # The last progress write comes from the solver: afterwards the session holds the new
    # draft, and on SQLite a second writer would wait for it; the draft and "finished" are
    # committed together.
    version = building.build(event, job.requested_by, solver_progress(job))
    return {"version": version.number, "placed": version.stats["placed"], "notes": []}, None


def reoptimise(job: Job) -> tuple[dict, None]:
    """Re-optimise around the locked meetings, or re-plan from a slot."""
    event = _event(job)
    services.report(job.id, 10, "solving")
    outcome = building.reoptimise(
        event, job.requested_by, job.params.get("from_slot"), solver_progress(job)
    )
    result = {
        "version": outcome.version.number,
        "placed": outcome.version.stats["placed"],
        "notes": [str(note) for note in outcome.notes],
    }
    return result, None


def publish(job: Job) -> tuple[dict, None]:
    """Publish the draft (committed at once), then send the e-mails with progress."""
    event = _event(job)
    services.report(job.id, 5, "publishing")
    version, changed = publishing.publish(event, job.requested_by, job.params.get("confirmed"))
    ids = db.session.info.pop(mail.SESSION_KEY, [])
    result = {"version": version.number, "notified": len(changed), "sent": 0, "unsent": 0}
    # The publication and its outbox messages are one transaction; the sending follows, and
    # what a killed worker did not send stays in the outbox for `flask outbox send`.
    if not services.keep_result(job.id, result):
        db.session.rollback()
        raise services.JobCancelled
    db.session.commit()
    for start in range(0, len(ids), MAIL_CHUNK):
        services.report(job.id, 10 + 85 * start // max(1, len(ids)), "sending")
        sent, failed = mail.deliver(ids[start : start + MAIL_CHUNK])
        result["sent"] += sent
        result["unsent"] += failed
    return result, None


def agendas_pdf(job: Job) -> tuple[dict, JobFile]:
    """Render every agenda into one PDF and keep it with the job."""
    event = _event(job)
    version = versions.latest_version(event)
    if version is None:
        raise ScheduleError(_("Build the schedule first."))
    services.report(job.id, 5, "reading")
    pages = agenda_pages(event, version, None)
    services.report(job.id, 20, "rendering")
    html = render_template(
        "scheduling/print_agendas.html", pages=pages, pdf=True, **print_context(event, version)
    )
    pdf = exports.html_to_pdf(html)
    services.report(job.id, 95, "saving")
    file = JobFile(
        filename=f"event-{event.id}-agendas-v{version.number}.pdf",
        mimetype="application/pdf",
        data=pdf,
    )
    return {"version": version.number, "pages": len(pages)}, file


KINDS: dict[str, Callable[[Job], tuple[dict, JobFile | None]]] = {
    "build": build,
    "reoptimise": reoptimise,
    "replan": reoptimise,
    "publish": publish,
    "agendas_pdf": agendas_pdf,
}
