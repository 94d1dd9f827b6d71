"""Audit log: every change an organiser makes, and every export they download.

Recorded centrally after each request rather than in each view, so a new organiser
route is logged without anyone remembering to: a successful POST/PUT/PATCH/DELETE by an
organiser, or a download (a response sent as an attachment). Only the endpoint, its URL
arguments and the names of the submitted fields are kept, never their values (passwords).
"""

from datetime import datetime

from flask import Flask, Response, g, request
from flask_login import current_user
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.core.clock import utcnow
from matchmaker.extensions import db

CHANGING_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))
ORGANISER_KEY = "audit_session_user_is_organiser"


class AuditEntry(db.Model):
    """One organiser action."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    user_email: Mapped[str] = mapped_column(String(254), nullable=False)
    action: Mapped[str] = mapped_column(String(120), nullable=False, index=True)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    path: Mapped[str] = mapped_column(String(500), nullable=False)
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    details: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    remote_addr: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, index=True
    )

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.user_email} {self.action}>"


def note_session_user(user) -> None:
    """Remember whether the user just loaded from the session is an organiser.

    The action's commit expires the user's attributes; with this note, deciding after a
    member's request that there is nothing to record costs no query to load them again.
    """
    g.setdefault(ORGANISER_KEY, {})[id(user)] = bool(user.is_organiser)


def should_record(response: Response) -> bool:
    """Tell whether this request is an organiser action worth recording."""
    if request.endpoint in (None, "static") or response.status_code >= 400:
        return False
    is_download = "attachment" in response.headers.get("Content-Disposition", "")
    if not (request.method in CHANGING_METHODS or is_download):
        return False
    if not current_user or not current_user.is_authenticated:
        return False
    # by the object, not by its id: reading the id of an expired user would load it again
    noted = g.get(ORGANISER_KEY, {}).get(id(current_user._get_current_object()))
    # users not loaded from the session (an API token's) are asked directly
    return noted if noted is not None else bool(current_user.is_organiser)


def record(response: Response) -> None:
    """Write an audit entry for the current request in its own small transaction."""
    entry = AuditEntry(
        user_id=current_user.id,
        user_email=current_user.email,
        action=request.endpoint,
        method=request.method,
        path=request.path[:500],
        status=response.status_code,
        details={
            "args": {k: str(v) for k, v in (request.view_args or {}).items()},
            "query": sorted(request.args.keys()),
            "fields": sorted(k for k in request.form if k != "csrf_token"),
        },
        remote_addr=(request.remote_addr or "")[:64],
    )
    db.session.add(entry)
    db.session.commit()


def register(app: Flask) -> None:
    """Record organiser actions after every request."""

    @app.after_request
    def audit_organiser_actions(response: Response) -> Response:
        try:
            # should_record reads current_user, whose attributes the action's commit expired:
            # on a lost database connection even that read fails.
            if should_record(response):
                record(response)
        except Exception:  # the action itself succeeded; never turn it into an error
            db.session.rollback()
            app.logger.exception("Could not write the audit log entry")
        return response


def recent_entries(limit: int = 200) -> list[AuditEntry]:
    """Return the newest audit entries."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )
