"""What a worker runs: one entry point per job, and one function per kind of work.

Each kind reports its progress through ``services.report`` and does its writes in the session;
``run`` commits them together with the job's "finished" mark, or rolls them back and records
why the job failed.
"""

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from flask import Flask, current_app, has_app_context, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from rq import get_current_job

from matchmaker.directory import importing
from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.jobs import mailing, refits, services
from matchmaker.jobs.models import Job, JobFile
from matchmaker.mail import services as mail
from matchmaker.matching import artefacts
from matchmaker.matching import feedback as matching_feedback
from matchmaker.scheduling import building, exports, publishing, reminders, versions
from matchmaker.scheduling import feedback as event_feedback
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
        # Links in the job's e-mails point to the site it was started from (http://localhost/
        # for jobs started outside a request).
        origin = job.params.get("origin") or None
        with app.test_request_context(base_url=origin), force_locale(job.locale):
            return _run_started(job)


def refit() -> str:
    """Fit the matching engine on the current profiles and store it; the RQ entry point.

    Refits are not rows of the jobs table (no one waits for them); RQ and the worker's log
    keep their outcome. A failed or killed fit stores nothing: the previous artefact stays.
    """
    app = worker_app()
    with app.app_context():
        rq_job = get_current_job()
        refits.wait_for_edits(app, rq_job.enqueued_at if rq_job else None)
        refits.refit_started(app)
        try:
            artefact = artefacts.refit()
        except Exception:
            log.exception("The matching refit failed; the previous model stays in use")
            raise
        finally:
            db.session.remove()
    return f"artefact {artefact.id}" if artefact else "up to date"


def compose_mail() -> str:
    """Compose (and send, if a server is set) every e-mail notice waiting; the RQ entry point."""
    app = worker_app()
    with app.app_context():
        rq_job = get_current_job()
        mailing.wait_for_more(app, rq_job.enqueued_at if rq_job else None)
        try:
            composed = mailing.compose_while_arriving(app)
        finally:
            db.session.remove()
    return f"{composed} e-mail(s) composed"


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
    except services.JobRefused as refusal:
        db.session.rollback()
        mail.discard_new()
        services.fail(job.id, refusal.message, refusal.result)
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
    # A model of the current profiles (refitted when they changed since the newest artefact)
    # is committed before the solver runs: on SQLite its write would otherwise hold the
    # database while the solver reports progress on another connection.
    artefacts.ensure_model()
    db.session.commit()
    services.report(job.id, 10, "solving")
    # The last progress write comes from the solver: afterwards the session holds the new
    # draft, and on SQLite a second writer would wait for it; the draft and "finished" are
    # committed together.
    version = building.build(event, job.requested_by, solver_progress(job))
    return {"version": version.number, "placed": version.stats["placed"], "notes": []}, None


def reoptimise(job: Job) -> tuple[dict, None]:
    """Re-optimise around the locked meetings, or re-plan from a slot."""
    event = _event(job)
    artefacts.ensure_model()  # as in build: current, stored before the solver reports progress
    db.session.commit()
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
    return commit_and_deliver(job, {"version": version.number, "notified": len(changed)}), None


def commit_and_deliver(job: Job, result: dict) -> dict:
    """Commit the work with its queued e-mails, then send them in chunks with progress.

    The work and its outbox messages are one transaction; the sending follows, and what a killed
    worker did not send stays in the outbox for `flask outbox send`.
    """
    ids = db.session.info.pop(mail.SESSION_KEY, [])
    result = {**result, "sent": 0, "unsent": 0}
    if not services.keep_result(job.id, result):
        db.session.rollback()
        raise services.JobCancelled
    db.session.commit()
    for start in range(0, len(ids), MAIL_CHUNK):
        services.report(job.id, 10 + 85 * start // max(1, len(ids)), "sending")
        chunk = ids[start : start + MAIL_CHUNK]
        sent, _failed = mail.deliver(chunk)
        result["sent"] += sent
        # Failed, and also never tried (no mail server configured): they stay in the outbox.
        result["unsent"] += len(chunk) - sent
    return result


def remind(job: Job) -> tuple[dict, None]:
    """Queue the reminder the organiser confirmed, record it, then send the e-mails."""
    event = _event(job)
    services.report(job.id, 5, "reading")
    preview = reminders.send_reminders(
        event,
        job.requested_by,
        job.params.get("audience", ""),
        again=bool(job.params.get("again")),
        repeat_after=timedelta(hours=current_app.config["REMINDER_REPEAT_HOURS"]),
        confirmed=job.params.get("confirmed", ""),
    )
    result = {
        "audience": preview.audience,
        "organisations": len(preview.recipients),
        "emails": preview.emails,
    }
    return commit_and_deliver(job, result), None


def agendas_pdf(job: Job) -> tuple[dict, JobFile]:
    """Render every agenda into one PDF and keep it with the job."""
    event = _event(job)
    version = versions.latest_version(event)
    if version is None:
        raise ScheduleError(_("Build the schedule first."))
    services.report(job.id, 5, "reading")
    pages = agenda_pages(event, version, None)
    context = print_context(event, version)
    size = current_app.config["PDF_AGENDAS_PER_PART"]

    def parts():
        # One part of the agendas at a time (see exports.htmls_to_pdf), progress after each.
        for start in range(0, max(1, len(pages)), size):
            services.report(job.id, 20 + 75 * start // max(1, len(pages)), "rendering")
            yield render_template(
                "scheduling/print_agendas.html",
                pages=pages[start : start + size],
                pdf=True,
                **context,
            )

    pdf = exports.htmls_to_pdf(parts(), processes=current_app.config["PDF_PROCESSES"])
    services.report(job.id, 95, "saving")
    file = JobFile(
        filename=f"event-{event.id}-agendas-v{version.number}.pdf",
        mimetype="application/pdf",
        data=pdf,
    )
    return {"version": version.number, "pages": len(pages)}, file


def train_reranker(job: Job) -> tuple[dict, None]:
    """Fit the re-ranker on all feedback and store it (nothing below the minimum)."""
    services.report(job.id, 10, "reading")
    signals = event_feedback.all_signals()
    # No progress write after this: the artefact and "finished" are committed together.
    services.report(job.id, 30, "training")
    return matching_feedback.train(signals).as_dict(), None


def import_file(job: Job) -> tuple[dict, None]:
    """Import a staged file: validate every row again, then write them all in one transaction.

    Progress is written while rows are written only where the database allows a second
    writer (``services.reports_while_writing``); the profiles and the job's "finished" mark
    are committed together, so a killed worker leaves nothing half-imported.
    """
    staged = importing.find_staged_file(job.params["token"])
    if staged is None:
        raise services.JobRefused(
            _("The uploaded file is no longer there (already imported or expired).")
        )
    live = services.reports_while_writing()

    def progress(step: str, done: int, total: int) -> None:
        if step == "validating" or live or done == 0:
            services.report(job.id, 5 + 90 * done // max(1, total), step)

    try:
        report = importing.import_staged(staged, progress)
    except importing.ImportFileError as error:
        raise services.JobRefused(str(error)) from error
    if not report.ok:
        message = ngettext(
            "%(num)d invalid row; nothing was imported.",
            "%(num)d invalid rows; nothing was imported.",
            len(report.errors),
        )
        raise services.JobRefused(message, {"errors": [str(e) for e in report.errors]})
    return {"created": report.created, "updated": report.updated, "errors": []}, None


KINDS: dict[str, Callable[[Job], tuple[dict, JobFile | None]]] = {
    "import": import_file,
    "build": build,
    "reoptimise": reoptimise,
    "replan": reoptimise,
    "publish": publish,
    "agendas_pdf": agendas_pdf,
    "reminders": remind,
    "train_reranker": train_reranker,
}
