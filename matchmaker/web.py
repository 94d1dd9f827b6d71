"""What the views of every blueprint share: friendly 400s, the organisers' gate, refusals.

Views only: services never see the request, flash messages or the session.
"""

from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import wraps

from flask import abort, current_app, flash
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import BadRequest

from matchmaker.core import commit_hooks
from matchmaker.extensions import db
from matchmaker.mail import services as mail


def bad_request(message: str) -> BadRequest:
    """Build a 400 error whose message is shown to the user."""
    error = BadRequest(message)
    error.friendly = True
    return error


MAX_PAGE = 10_000  # the highest page number a paged list accepts


def page_number(args) -> int:
    """Return the ``page`` argument of a paged list (1 by default), or raise a friendly 400."""
    value = args.get("page", "1")
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise bad_request(_("The page number is not valid."))
    return int(value)


def organiser_required(view):
    """Let only logged-in organisers through (log-in page for visitors, 403 for members)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_organiser:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def commit_and_send() -> None:
    """Commit the request's changes, then compose and send the e-mails they queued.

    The commit keeps what the request loaded and wrote: the e-mails are composed from it
    without loading it again. Afterwards everything is expired as after any commit.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    mail.deliver_new()
    session.expire_all()


# On PostgreSQL: the commit of the transaction holding a hot lock does not wait for the disk ...
NO_WAIT_FOR_DISK = text("SET LOCAL synchronous_commit = off")
# ... and a transactional WAL record (no table touched) committed after it does: the flush of
# its commit covers all WAL written before it, the lock holder's commit included.
DISK_BARRIER = text("SELECT pg_logical_emit_message(true, 'matchmaker', 'durable')")


@contextmanager
def hot_transaction():
    """Run the block, commit and send its e-mails, passing its locks on before the disk write.

    For a transaction that takes a lock a burst of requests queues for (the event's row when
    registering). What :func:`commit_and_send` does after the block, but on PostgreSQL the
    lock passes to the next request before the commit's disk write, not after it: the commit
    does not wait for its WAL to reach the disk (``synchronous_commit`` off for this one
    transaction: said in passing by the block's lock statement if it can, as a registration's
    does, else set before the commit), and a second, tiny transaction committed as usual then
    waits for the disk (right after the commit, on the connection the session still holds
    then: no second checkout, no second ping). The WAL is written in order, so that flush
    covers the first commit: nothing is answered before it is on disk.
    Meanwhile other requests may already see the change (a registration counts for the next
    one's seat decision); after a crash in that moment it is gone, and so is every later change
    that saw it, since their WAL comes after it. Without this every request of a burst would
    hold the lock through a disk flush (about 4 ms on the benchmark's disk), one after the
    other. An exception in the block leaves the transaction to the caller, uncommitted.
    """
    session = db.session()
    if session.get_bind().dialect.name == "postgresql":
        connection = session.connection()
        # said by the block's lock statement if it can (no round trip of its own), else below
        session.info[commit_hooks.NO_WAIT_FOR_DISK_KEY] = True
        # waited for right after the commit, on the same connection (no second checkout)
        session.info[DISK_WAIT_KEY] = connection
    try:
        yield
    except BaseException:
        session.info.pop(DISK_WAIT_KEY, None)
        session.info.pop(commit_hooks.NO_WAIT_FOR_DISK_KEY, None)
        raise
    if commit_hooks.take_request(session, commit_hooks.NO_WAIT_FOR_DISK_KEY):
        session.connection().execute(NO_WAIT_FOR_DISK)
    commit_and_send()


DISK_WAIT_KEY = "web_wait_for_disk"


def _wait_for_disk(_session, connection) -> None:
    """After a hot transaction's commit: commit the disk barrier on its still held connection.

    In autocommit mode: the statement is its own transaction, one round trip instead of three
    (BEGIN, the statement, COMMIT). The pool restores the connection's mode when it gets it back.
    """
    try:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(DISK_BARRIER)
        connection.commit()
    except SQLAlchemyError:
        # the change is committed; it reaches the disk with the WAL writer's next round
        # (within three times wal_writer_delay) like any commit that does not wait
        current_app.logger.warning("Waiting for the disk failed", exc_info=True)
        with suppress(SQLAlchemyError):  # a lost connection: the session's close discards it
            connection.rollback()


def register(app) -> None:
    """Wait for the disk after the commit of a hot transaction."""
    commit_hooks.after_commit(DISK_WAIT_KEY, _wait_for_disk)


def refuse(error: Exception, form=None) -> None:
    """Undo the request's changes and show why a use case refused (on its field if it names one).

    ``error`` is a use case's refusal (``EventError``, ``ScheduleError``): it carries a
    ``message`` for the user and, optionally, the ``field`` of ``form`` the message belongs to.
    """
    db.session.rollback()
    mail.discard_new()
    name = getattr(error, "field", None)
    field = getattr(form, name, None) if form is not None and name else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


@dataclass
class Conflict:
    """A database constraint refused a change: another request made one at the same moment."""

    field: str | None = None

    @property
    def message(self) -> str:
        """Say what happened and that the form can simply be sent again."""
        return _(
            "This conflicts with a change made at the same time. Nothing was saved; "
            "please check the form and send it again."
        )


def refuse_conflict(form=None, field: str | None = None) -> None:
    """Undo a change that lost a race at the database (IntegrityError); keep the form's input."""
    refuse(Conflict(field), form)


def flash_form_errors(form) -> None:
    """Show the first problem of an invalid form."""
    for field in form:
        for message in field.errors:
            flash(f"{field.label.text}: {message}", "error")
            return
    flash(_("The form has expired; please try again."), "error")
