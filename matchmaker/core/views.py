"""Start page, language switch and health checks."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from matchmaker.core.audit import recent_entries
from matchmaker.web import organiser_required

bp = Blueprint("core", __name__)


@bp.get("/")
def index():
    """Show the start page with the directory's figures."""
    return render_template("core/index.html")


@bp.post("/language/<lang>")
def set_language(lang: str):
    """Remember the chosen interface language and go back."""
    if lang not in ("de", "en"):
        abort(404)
    session["lang"] = lang
    target = request.form.get("next") or url_for("core.index")
    if urlsplit(target).netloc or not target.startswith("/"):
        target = url_for("core.index")
    return redirect(target)


@bp.get("/healthz")
def health():
    """Answer with a constant string: liveness and the benchmark's bare baseline."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.get("/organiser/audit")
@organiser_required
def audit_log():
    """Show the newest organiser actions (organisers only)."""
    return render_template("core/audit.html", entries=recent_entries())
