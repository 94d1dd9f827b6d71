"""Flask CLI commands: accounts, import/export, demo data."""

import json
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from matchmaker.accounts.services import create_user, find_user_by_email
from matchmaker.core.backup import RestoreError, read_backup, restore, write_backup
from matchmaker.core.catalogues import (
    catalogue_problems,
    missing_translations,
    update_catalogues,
)
from matchmaker.demo import story
from matchmaker.directory.exporting import profiles_document
from matchmaker.directory.importing import (
    ImportFileError,
    discard_expired_uploads,
    import_profiles,
    stage_upload,
    write_valid,
)
from matchmaker.directory.indexing import rebuild_index
from matchmaker.events.cli import load_demo_event
from matchmaker.events.cli import outbox as events_outbox
from matchmaker.events.models import Event
from matchmaker.extensions import db
from matchmaker.jobs import services as jobs_services
from matchmaker.jobs.cli import jobs
from matchmaker.jobs.models import FINISHED, Job
from matchmaker.matching import artefacts
from matchmaker.matching import feedback as matching_feedback
from matchmaker.matching.evaluation import evaluate_file, format_report
from matchmaker.matching.services import export_suggestions
from matchmaker.privacy.services import purge_old_events
from matchmaker.scheduling import feedback as event_feedback
from matchmaker.scheduling.cli import schedule

DEMO_FILE = Path(__file__).parent / "demo" / "lausitz.json"


def register(app: Flask) -> None:
    """Attach every command to the app's CLI."""
    app.cli.add_command(create_organiser)
    app.cli.add_command(import_profiles_command)
    app.cli.add_command(export_profiles_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(translations)
    app.cli.add_command(match)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(reindex_search_command)
    app.cli.add_command(privacy)
    app.cli.add_command(events_outbox)
    app.cli.add_command(schedule)
    app.cli.add_command(jobs)


@click.command("create-organiser")
@click.argument("email")
@click.option("--name", default="Organisation", help="Display name.")
@click.password_option(help="Password (asked for when not given).")
def create_organiser(email: str, name: str, password: str) -> None:
    """Create an organiser account, or make an existing account an organiser."""
    if len(password) < 10:
        raise click.BadParameter("at least 10 characters", param_hint="password")
    user = find_user_by_email(email)
    if user is None:
        user = create_user(email, name, password, organiser=True)
        action = "created"
    else:
        user.is_organiser = True
        user.set_password(password)
        action = "promoted"
    db.session.commit()
    click.echo(f"Organiser {user.email} {action}.")


def run_import(
    data: bytes, filename: str, *, dry_run: bool, in_process: bool = True, wait: bool = True
) -> bool:
    """Import (or validate) a file, print the report and say whether it succeeded.

    Without ``in_process``, a file of more than ``IMPORT_JOB_ROWS`` rows is written by an
    import job (``wait``: follow its progress until it ends).
    """
    try:
        report = import_profiles(data, filename, dry_run=True)
    except ImportFileError as exc:
        click.echo(f"{filename}: {exc}", err=True)
        return False
    by_job = not in_process and len(report.rows) > current_app.config["IMPORT_JOB_ROWS"]
    if not report.ok or dry_run or by_job:
        db.session.rollback()
    for error in report.errors:
        click.echo(f"{filename}: {error}", err=True)
    if not report.ok:
        click.echo(
            ngettext(
                "%(num)d invalid row; nothing was imported.",
                "%(num)d invalid rows; nothing was imported.",
                len(report.errors),
            ),
            err=True,
        )
        return False
    counts = {"created": report.created, "updated": report.updated}
    if dry_run:
        click.echo(_("Dry run: %(created)d new, %(updated)d to update; all rows valid.", **counts))
        return True
    if by_job:
        return run_import_job(data, filename, len(report.rows), wait=wait)
    # the rows validated above, in this transaction: every row is validated once
    write_valid(report)
    db.session.commit()
    click.echo(_("Imported: %(created)d new, %(updated)d updated.", **counts))
    return True


def run_import_job(data: bytes, filename: str, rows: int, *, wait: bool) -> bool:
    """Hand a file to an import job; follow its progress when ``wait``; say whether it worked."""
    staged = stage_upload(None, filename, data)
    job = jobs_services.submit(
        "import",
        None,
        None,
        lane=None,
        locale=str(get_locale() or "de"),
        params={"token": staged.token, "rows": rows},
    )
    db.session.commit()
    if not jobs_services.enqueue(job):
        db.session.commit()
        click.echo(job.error, err=True)
        return False
    click.echo(_("%(num)d rows: import job %(id)d queued.", num=rows, id=job.id))
    if not wait:
        return True
    shown = None
    while True:
        db.session.expire_all()
        job = db.session.get(Job, job.id)
        if (job.status, job.progress) != shown:
            shown = (job.status, job.progress)
            click.echo(f"{job.progress:3d} % {jobs_services.step_label(job)}", err=True)
        if not job.is_active:
            break
        time.sleep(1)
    if job.status != FINISHED:
        for error in (job.result or {}).get("errors", []):
            click.echo(f"{filename}: {error}", err=True)
        click.echo(job.error or jobs_services.step_label(job), err=True)
        return False
    counts = {"created": job.result["created"], "updated": job.result["updated"]}
    click.echo(_("Imported: %(created)d new, %(updated)d updated.", **counts))
    return True


@click.command("import-profiles")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only validate; change nothing.")
@click.option(
    "--lang",
    type=click.Choice(["de", "en"]),
    default=None,
    help="Language of the messages (default: the app's default language, German).",
)
@click.option(
    "--in-process",
    is_flag=True,
    help="Write here even when the file is larger than IMPORT_JOB_ROWS (no job).",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    help="Follow a large import's job until it ends (default), or only queue it.",
)
def import_profiles_command(
    file: Path, dry_run: bool, lang: str | None, in_process: bool, wait: bool
) -> None:
    """Import SME and startup profiles from JSON, CSV or Excel (updates by id).

    Files of more than IMPORT_JOB_ROWS rows are written by an import job (`flask jobs
    worker` runs it) with its progress shown here.
    """
    with force_locale(lang or current_app.config.get("BABEL_DEFAULT_LOCALE", "de")):
        succeeded = run_import(
            file.read_bytes(), file.name, dry_run=dry_run, in_process=in_process, wait=wait
        )
    if not succeeded:
        sys.exit(1)


@click.command("export-profiles")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def export_profiles_command(output: Path | None) -> None:
    """Write every profile as JSON in the import format (to stdout or a file)."""
    text = json.dumps(profiles_document(), ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"Wrote {output}.", err=True)
    else:
        click.echo(text)


@click.command("demo")
def demo_command() -> None:
    """Load the Lausitz AI conference demo: profiles, accounts, event, published schedule."""
    if not run_import(DEMO_FILE.read_bytes(), DEMO_FILE.name, dry_run=False):
        sys.exit(1)
    accounts = [
        ("orga@ki-tag-lausitz.example", "Orga-Team KI-Tag Lausitz", True),
        ("mitglied@ki-tag-lausitz.example", "Demo-Mitglied", False),
    ]
    for email, name, organiser in accounts:
        if find_user_by_email(email) is None:
            create_user(email, name, "demo-passwort", organiser=organiser)
    db.session.commit()
    # The first model is fitted here, so the demo's pages show suggestions from the start
    # and its schedule is built on scores; later changes are refitted by the job worker.
    fit_model()
    click.echo("Demo accounts (password: demo-passwort): " + ", ".join(a[0] for a in accounts))
    click.echo(load_demo_event(DEMO_FILE))
    db.session.commit()

    spec = json.loads(DEMO_FILE.read_text(encoding="utf-8"))["event"]
    event = db.session.scalar(select(Event).where(Event.title == spec["title"]))
    member = find_user_by_email(accounts[1][0])
    profile = story.give_member_profile(member, event, spec["member"])
    added = story.agree_member_requests(event, profile, spec["member"])
    db.session.commit()
    click.echo(f"{member.email} owns {profile.name}; {added} new agreed meeting request(s).")
    click.echo(story.publish_demo_schedule(event, find_user_by_email(accounts[0][0])))
    db.session.commit()


translations = AppGroup("translations", help="Maintain the translation catalogues.")


@translations.command("update")
def update_translations() -> None:
    """Extract the messages and merge them into the German and English catalogues."""
    click.echo(f"Wrote {update_catalogues()}.")
    for lang, ids in missing_translations().items():
        click.echo(f"{lang}: {len(ids)} message(s) to translate")


@translations.command("check")
def check_translations() -> None:
    """Fail when a catalogue lacks, leaves empty, marks fuzzy or misformats a used message."""
    directory = Path(current_app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")[0])
    problems = catalogue_problems(directory)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {directory}.", err=True)
        sys.exit(1)
    click.echo("All catalogues complete.")


match = AppGroup("match", help="Suggestions: export them, evaluate the engine.")


def fit_model(force: bool = False) -> None:
    """Fit and store the matching model now unless the stored one is current; say which."""
    artefact = artefacts.refit(force=force)
    if artefact is None:
        click.echo("The matching model is up to date.")
    else:
        click.echo(
            f"Matching model fitted on {artefact.profile_count} profiles in "
            f"{artefact.fit_seconds:.1f} s (artefact {artefact.id}, data version "
            f"{artefact.data_version}, {artefact.size / 1e6:.1f} MB)."
        )


@match.command("fit")
@click.option("--force", is_flag=True, help="Fit even when the stored model is current.")
def match_fit(force: bool) -> None:
    """Fit the matching model now and store it for every worker (the job worker does this too)."""
    fit_model(force)


@match.command("export")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--direction",
    type=click.Choice(["sme", "startup"]),
    default=None,
    help="Only SMEs (-> startups) or only startups (-> SMEs); default both.",
)
def match_export(limit: int, direction: str | None) -> None:
    """Print the suggestions of every profile as JSON, best first."""
    artefacts.refit()  # the command line may fit (when the stored model is old); requests never
    click.echo(json.dumps(export_suggestions(limit, direction), ensure_ascii=False, indent=2))


@match.command("evaluate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def match_evaluate(file: Path) -> None:
    """Fit on a labelled file and print nDCG@5, P@3 and MRR in both directions."""
    click.echo(format_report(evaluate_file(file)))


@match.command("train-reranker")
def match_train_reranker() -> None:
    """Train the re-ranker on all feedback now (the web page queues the same as a job)."""
    outcome = matching_feedback.train(event_feedback.all_signals())
    db.session.commit()
    click.echo(
        f"Labelled pairs: {outcome.pairs} ({outcome.positives} fit, "
        f"{outcome.pairs - outcome.positives} do not fit)."
    )
    if outcome.trained:
        click.echo(f"Re-ranker {outcome.artefact.id} stored; suggestions follow it from now on.")
    else:
        click.echo(
            f"Not enough feedback: need {outcome.min_pairs} labelled pairs with at least "
            "5 of each kind. Suggestions keep the engine's order."
        )


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(file: Path) -> None:
    """Write a complete backup of all data as JSON (FILE.json.gz for compressed)."""
    counts = write_backup(file)
    click.echo(f"Wrote {file}: {sum(counts.values())} rows in {len(counts)} tables.")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(file: Path) -> None:
    """Restore a backup into an empty, migrated database."""
    try:
        counts = restore(read_backup(file))
    except RestoreError as exc:
        db.session.rollback()
        click.echo(f"Restore refused: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Restored {sum(counts.values())} rows in {len(counts)} tables.")


@click.command("reindex-search")
def reindex_search_command() -> None:
    """Rebuild the directory's search index (after the thesaurus changed)."""
    count = rebuild_index(db.session)
    db.session.commit()
    click.echo(f"Re-indexed {count} profiles.")


privacy = AppGroup("privacy", help="Data protection: retention of personal data.")


@privacy.command("purge")
@click.option(
    "--older-than-days",
    type=click.IntRange(0, 36500),
    default=None,
    help="Age of events whose personal data is removed (default: RETENTION_DAYS).",
)
def privacy_purge(older_than_days: int | None) -> None:
    """Remove attendees' names and e-mails, messages and e-mails of old events."""
    days = current_app.config["RETENTION_DAYS"] if older_than_days is None else older_than_days
    counts = purge_old_events(days)
    db.session.commit()
    click.echo(
        f"Events older than {days} days: {counts['events']}; anonymised attendees: "
        f"{counts['attendees']}, cleared request messages: {counts['requests']}, "
        f"deleted e-mails: {counts['messages']}, deleted job files: {counts['files']}."
    )
    expired = discard_expired_uploads()
    db.session.commit()
    click.echo(f"Expired import uploads deleted: {expired}.")
