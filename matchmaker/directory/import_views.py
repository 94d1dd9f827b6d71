"""Profile import for organisers: upload a file, see a preview, then confirm the import.

The uploaded file waits in the database (``staged_imports``) between the preview and the
confirmation, so any worker can answer either step. The confirmation (a route lent by the jobs
area, ``jobs/views.py: confirm``) runs the same idempotent import as ``flask import-profiles``
in a job.
"""

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from matchmaker.directory import importing
from matchmaker.directory.forms import ImportConfirmForm, ImportUploadForm
from matchmaker.directory.models import StagedImport
from matchmaker.extensions import db
from matchmaker.web import organiser_required

bp = Blueprint("imports", __name__)


def size_limit() -> str:
    """Return the upload limit in megabytes, formatted for the user's language."""
    megabytes = current_app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024)
    return format_decimal(round(megabytes, 1))


def upload_page(form: ImportUploadForm, status: int = 200):
    """Render the upload form."""
    return render_template("directory/import_upload.html", form=form, limit=size_limit()), status


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge):
    """Show the upload form again with the size limit instead of a bare error page."""
    message = _("The file is too large: at most %(limit)s MB can be imported.", limit=size_limit())
    if not current_user.is_authenticated or not current_user.is_organiser:
        # the size is checked before the access rule: show no form to others
        title = _("The upload is too large")
        return render_template("errors/error.html", code=413, title=title, message=message), 413
    form = ImportUploadForm(formdata=None)
    form.file.errors = [message]
    return upload_page(form, 413)


@bp.route("/directory/import", methods=["GET", "POST"])
@organiser_required
def upload():
    """Upload a CSV, Excel or JSON file of profiles and go to its preview."""
    form = ImportUploadForm()
    if not form.validate_on_submit():
        return upload_page(form, 400 if form.is_submitted() else 200)
    file = form.file.data
    staged = importing.stage_upload(current_user, file.filename or "import.csv", file.read())
    db.session.commit()
    return redirect(url_for("imports.preview", token=staged.token))


def staged_or_404(token: str) -> StagedImport:
    """Return the current organiser's staged file, or answer 404 (expired or someone else's)."""
    staged = importing.find_staged(token, current_user)
    if staged is None:
        abort(404)
    return staged


def preview_page(staged: StagedImport, report: importing.ImportReport | None, problem: str):
    """Render the preview: per-row errors, or what would be created and updated."""
    return render_template(
        "directory/import_preview.html",
        staged=staged,
        report=report,
        problem=problem,
        form=ImportConfirmForm(),
    )


@bp.get("/directory/import/<token>")
@organiser_required
def preview(token: str):
    """Show what the import of a staged file would do, without changing anything."""
    staged = staged_or_404(token)
    try:
        report = importing.import_profiles(staged.data, staged.filename, dry_run=True)
    except importing.ImportFileError as exc:
        return preview_page(staged, None, str(exc))
    finally:
        db.session.rollback()
    return preview_page(staged, report, "")
