"""Queue e-mails in the outbox and deliver them over SMTP after the data is committed.

Composing a message only adds an outbox row (in the caller's transaction). A use case that holds
a lock queues a *notice* instead: a small row that says what to write, composed by the composer
its area registered (:func:`register_composer`), either after the commit by the same request
(:func:`queue_notice`) or, for the use cases a burst of requests runs, by the job worker, many
at a time (:func:`queue_notices`, one INSERT). A notice whose process died before composing it
is composed by the next delivery, by ``flask outbox send`` or by the job worker's maintenance,
so nothing is lost. Delivery happens
after the commit: :func:`deliver_new` sends what this session queued, :func:`retry_due` picks up
earlier failures, and ``flask outbox send`` retries everything that is not sent yet. A message is
claimed with a conditional UPDATE before sending, so two workers never send the same row.
Without ``MAIL_SERVER`` nothing is sent: messages stay queued and can be read in the outbox.
"""

import smtplib
import ssl
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from itertools import chain, groupby

from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale
from sqlalchemy import (
    JSON,
    Insert,
    Integer,
    String,
    bindparam,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from matchmaker.core.clock import utcnow
from matchmaker.core.column_defaults import ColumnDefaults
from matchmaker.extensions import db
from matchmaker.mail.models import FAILED, QUEUED, SENDING, SENT, OutboxMessage

SESSION_KEY = "outbox_new"
NOTICES_KEY = "outbox_notices"
# Set in a session that stored notices for the job worker to compose (see queue_notices).
LATER_KEY = "outbox_compose_later"
MAX_AUTO_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=1)
STALE_SENDING = timedelta(minutes=10)


def queue_message(
    to_address: str, subject: str, body: str, *, kind: str = "", event_id: int | None = None
) -> OutboxMessage:
    """Store an e-mail in the outbox; it is sent once the transaction is committed."""
    message = OutboxMessage(
        to_address=to_address.strip(),
        subject=subject.strip()[:300],
        body=body,
        kind=kind,
        event_id=event_id,
        status=QUEUED,
        attempts=0,
        last_error="",
    )
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault(SESSION_KEY, []).append(message.id)
    return message


def queue_mail(
    to_address: str,
    language: str,
    template: str,
    subject,
    *,
    kind: str,
    event_id: int | None = None,
    **context,
) -> OutboxMessage | None:
    """Render a mail template and its (lazy) subject in the recipient's language and queue it."""
    if not to_address:
        return None
    with force_locale(language):
        subject_text = str(subject)
        body = render_template(template, **context)
    return queue_message(to_address, subject_text, body, kind=kind, event_id=event_id)


@dataclass
class Mail:
    """One e-mail to render from a template in a language (see :func:`queue_mails`)."""

    to_address: str
    language: str
    template: str
    subject: object  # a lazy string, rendered in ``language``
    kind: str
    event_id: int | None = None
    context: dict = field(default_factory=dict)


def queue_mails(mails: Iterable[Mail]) -> list[int]:
    """Render many e-mails and store them in the outbox with one bulk insert (no commit).

    What :func:`queue_mail` does for one, for the thousands of a publication: each run of
    mails in one language is rendered under one locale, and the rows go in one executemany.
    Return the new messages' ids (sent after the commit, as the session's).
    """
    rows = []
    now = utcnow()
    for language, run in groupby((m for m in mails if m.to_address), key=lambda m: m.language):
        with force_locale(language):
            for mail in run:
                rows.append(
                    {
                        "to_address": mail.to_address.strip(),
                        "subject": str(mail.subject).strip()[:300],
                        "body": render_template(mail.template, **mail.context),
                        "kind": mail.kind,
                        "event_id": mail.event_id,
                        "status": QUEUED,
                        "attempts": 0,
                        "last_error": "",
                        "created_at": now,
                    }
                )
    if not rows:
        return []
    statement = insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True)
    ids = list(db.session.scalars(statement, rows))
    db.session.info.setdefault(SESSION_KEY, []).extend(ids)
    return ids


@dataclass
class Composed:
    """What a composer decided to write: template, subject and context, in a language."""

    language: str
    template: str
    subject: object  # a lazy string, rendered in ``language``
    context: dict = field(default_factory=dict)


# Composers are code, registered at import by the area that owns the notice kind. A composer
# gets the message and, when the process that queued it still holds it, the object the notice
# is about (None: the composer loads it from what the notice says). A loader, if the area gives
# one, loads what many notices of its kind are about at once (by message id), for batches.
Composer = Callable[[OutboxMessage, object], Composed | None]
Loader = Callable[[list[OutboxMessage]], dict[int, object]]
COMPOSERS: dict[str, Composer] = {}
LOADERS: dict[str, Loader] = {}


def register_composer(kind: str, composer: Composer, load: Loader | None = None) -> None:
    """Let ``composer`` write the notices of ``kind`` (None: the notice has become moot)."""
    COMPOSERS[kind] = composer
    if load is not None:
        LOADERS[kind] = load


_outbox = OutboxMessage.__table__
INSERT_NOTICES = insert(_outbox)


def queue_notices(kind: str, event_id: int | None, notices: list[tuple[str, dict]]) -> None:
    """Store notices (address, what to write) with one INSERT, for the job worker to compose.

    Cheaper than :func:`queue_notice` (no model objects, nothing composed in this process): for
    the use cases a burst of requests runs. The commit asks the job worker to compose them
    (``jobs.mailing``); a notice it never gets to is composed by the worker's maintenance or by
    ``flask outbox send``. The link in a notice's e-mail points to the site the request came to.
    """
    origin = request.host_url if has_request_context() else None
    rows = [
        {
            "to_address": address.strip(),
            "subject": "",
            "body": "",
            "kind": kind,
            "event_id": event_id,
            "notice": dict(params, origin=origin),
            "status": QUEUED,
            "attempts": 0,
            "last_error": "",
        }
        for address, params in notices
    ]
    if rows:
        db.session.connection().execute(INSERT_NOTICES, rows)
        db.session.info[LATER_KEY] = True


def insert_notices(defaults: ColumnDefaults, address: ColumnElement, params: dict) -> Insert:
    """Build an ``INSERT ... SELECT`` storing a notice per row of ``address`` for the job worker.

    What :func:`queue_notices` stores, for a use case that writes its rows in one statement
    (this INSERT is a CTE of it): ``address`` is a column of those rows, ``params`` (name: column
    expression) says what to write. Its bind parameters: ``notice_kind``, ``notice_event_id``,
    ``notice_origin`` (:func:`notice_origin`) and those of ``defaults`` (the outbox's column
    defaults); the caller calls :func:`compose_later` when the statement has run.
    """
    notice = dict(params, origin=bindparam("notice_origin", type_=String))
    # the keys (names in this code, never input) and the empty texts are constants of the SQL,
    # not parameters to send each time
    pairs = [(literal_column(f"'{key}'"), value) for key, value in notice.items()]
    values = defaults.fill(
        _outbox,
        {
            "kind": bindparam("notice_kind", type_=String),
            "event_id": bindparam("notice_event_id", type_=Integer),
            "to_address": func.btrim(address),
            "subject": literal_column("''"),
            "body": literal_column("''"),
            "notice": func.json_build_object(*chain.from_iterable(pairs), type_=JSON),
        },
    )
    return insert(_outbox).from_select(
        list(values), select(*values.values()), include_defaults=False
    )


def notice_origin() -> str | None:
    """Return the site a notice's links lead to: the one the request came to."""
    return request.host_url if has_request_context() else None


def compose_later() -> None:
    """Ask for the job worker's composing after the commit (notices stored by the caller's SQL)."""
    db.session.info[LATER_KEY] = True


def queue_notice(
    to_address: str, kind: str, *, event_id: int | None, about: object = None, **params
) -> OutboxMessage:
    """Store a small outbox row to be composed after the commit (cheap enough under a lock).

    ``about`` is the object the notice is about (an attendee, say): kept in this session only,
    it lets the composer after the commit write the e-mail from what the request has in memory
    instead of loading it again. The stored notice names it by ``params`` for any other process.
    """
    message = OutboxMessage(
        to_address=to_address.strip(),
        subject="",
        body="",
        kind=kind,
        event_id=event_id,
        notice=params,
        status=QUEUED,
        attempts=0,
        last_error="",
    )
    db.session.add(message)  # flushed with the caller's rows: no round trip of its own
    db.session.info.setdefault(NOTICES_KEY, []).append((message, about))
    return message


def compose(message: OutboxMessage, about: object = None) -> bool:
    """Write a notice's subject and body; drop it when its subject no longer exists."""
    if message.notice is None:
        return True
    with db.session.no_autoflush:  # one UPDATE per message, after the rendering
        composed = COMPOSERS[message.kind](message, about)
        if composed is None:
            db.session.delete(message)  # e.g. the registration was deleted before the e-mail
            return False
        with force_locale(composed.language):
            message.subject = str(composed.subject).strip()[:300]
            message.body = render_template(composed.template, **composed.context)
    message.notice = None
    return True


def compose_pending(
    message_ids: list[int] | None = None, *, older_than: timedelta | None = None, limit: int = 500
) -> int:
    """Compose queued notices (the given ones, else the oldest) and commit; return how many."""
    return compose_batch(message_ids, older_than=older_than, limit=limit)[0]


def compose_batch(
    message_ids: list[int] | None = None, *, older_than: timedelta | None = None, limit: int = 500
) -> tuple[int, list[int]]:
    """Compose queued notices (the given ones, else the oldest) and commit.

    ``older_than`` leaves alone the notices their own request is about to compose. What the
    notices are about is loaded once per kind for the whole batch where the kind has a loader.
    Return how many notices were handled and the ids of those written (not the moot ones).
    """
    if message_ids is not None and not message_ids:
        return 0, []  # before building the query: every request's delivery asks with none
    query = select(OutboxMessage).where(OutboxMessage.notice.is_not(None))
    if older_than is not None:
        query = query.where(OutboxMessage.created_at < utcnow() - older_than)
    if message_ids is not None:
        query = query.where(OutboxMessage.id.in_(message_ids))
    messages = db.session.scalars(query.order_by(OutboxMessage.id).limit(limit)).all()
    about: dict[int, object] = {}
    for kind, run in groupby(sorted(messages, key=lambda m: m.kind), key=lambda m: m.kind):
        if kind in LOADERS:
            about.update(LOADERS[kind](list(run)))
    composed = []
    for origin, run in groupby(messages, key=lambda m: m.notice.get("origin")):
        with _linking_to(origin):
            composed += [m.id for m in run if compose(m, about.get(m.id))]
    if messages:
        db.session.commit()
    return len(messages), composed


def _linking_to(origin: str | None):
    """Let links point to ``origin`` (the site a notice's request came to) outside requests."""
    if origin and not has_request_context():
        return current_app.test_request_context(base_url=origin)
    return nullcontext()


def compose_and_deliver() -> int:
    """Compose every notice waiting (in batches), send them if a server is set; return how many."""
    total, limit = 0, 500
    while True:
        handled, ids = compose_batch(limit=limit)
        total += len(ids)
        deliver(ids)
        if handled < limit:  # nothing more was waiting when the batch was read
            return total


def compose_all_pending(older_than: timedelta | None = None) -> int:
    """Compose every notice not composed yet (in batches); return how many."""
    total = 0
    while count := compose_pending(older_than=older_than):
        total += count
    return total


def _session_ids() -> tuple[list[int], list[tuple[OutboxMessage, object]], list[int]]:
    """Pop what this session queued: the ids of its messages and notices, the notices still
    loaded after the commit (with what they are about), and the ids of the other notices.

    A notice stays loaded when the caller committed without expiring (see
    ``matchmaker.web.commit_and_send``); it is composed from memory, the others from the database.
    """
    ids = db.session.info.pop(SESSION_KEY, [])
    loaded, pending = [], []
    for message, about in db.session.info.pop(NOTICES_KEY, []):
        state = inspect(message)
        if not state.identity:
            continue  # never stored
        # The identity survives the commit's expiry, so reading it costs no query.
        ids.append(state.identity[0])
        if state.expired or state.detached:
            pending.append(state.identity[0])
        else:
            loaded.append((message, about))
    return ids, loaded, pending


def compose_loaded(notices: list[tuple[OutboxMessage, object]]) -> None:
    """Compose notices from the objects in memory (no query for them) and commit."""
    for message, about in notices:
        compose(message, about)
    if notices:
        db.session.commit()


def mail_configured() -> bool:
    """Tell whether an SMTP server is configured."""
    return bool(current_app.config.get("MAIL_SERVER"))


def smtp_message(message: OutboxMessage) -> EmailMessage:
    """Return an outbox message as the e-mail handed to the SMTP server."""
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=True)
    email["Message-ID"] = make_msgid(domain="matchmaker")
    email.set_content(message.body)
    return email


class SmtpConnection:
    """One connection to the configured SMTP server for a batch of messages.

    Opened on the first message and kept for the next ones (no connection, TLS handshake and
    log-in per message); after a failure it is closed and the next message opens a new one.
    """

    def __init__(self) -> None:
        self.smtp: smtplib.SMTP | None = None

    def send(self, message: OutboxMessage) -> None:
        """Hand one message to the server (raises on failure)."""
        email = smtp_message(message)
        try:
            if self.smtp is None:
                self.smtp = self._open()
            self.smtp.send_message(email)
        except (OSError, smtplib.SMTPException):
            self.close()
            raise

    def close(self) -> None:
        """Say goodbye to the server, if connected."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    @staticmethod
    def _open() -> smtplib.SMTP:
        config = current_app.config
        timeout = config.get("MAIL_TIMEOUT", 10)
        smtp = smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=timeout)
        try:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        except (OSError, smtplib.SMTPException):
            smtp.close()
            raise
        return smtp


def claim(message_id: int) -> OutboxMessage | None:
    """Mark a message as being sent by this process, or return None if another one has it."""
    stale = utcnow() - STALE_SENDING
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            or_(
                OutboxMessage.status.in_((QUEUED, FAILED)),
                (OutboxMessage.status == SENDING) & (OutboxMessage.last_attempt_at < stale),
            ),
        )
        .values(status=SENDING, attempts=OutboxMessage.attempts + 1, last_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.get(OutboxMessage, message_id, populate_existing=True)


def deliver(message_ids: list[int]) -> tuple[int, int]:
    """Send the given messages now over one connection; return how many were sent and failed."""
    sent = failed = 0
    if not mail_configured():
        return sent, failed
    compose_pending(message_ids)
    connection = SmtpConnection()  # one connection for the whole batch
    try:
        for message_id in message_ids:
            message = claim(message_id)
            if message is None:
                continue
            if not compose(message):
                db.session.commit()
                continue
            try:
                connection.send(message)
            except (OSError, smtplib.SMTPException) as exc:
                message.status = FAILED
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                failed += 1
                current_app.logger.warning("Sending e-mail %s failed: %s", message.id, exc)
            else:
                message.status = SENT
                message.sent_at = utcnow()
                message.last_error = ""
                sent += 1
            # each outcome is committed at once: a killed worker re-sends nothing it sent
            db.session.commit()
    finally:
        connection.close()
    return sent, failed


def deliver_new() -> tuple[int, int]:
    """Compose and send what this session queued (call after the commit), then retry older ones."""
    ids, loaded, pending = _session_ids()
    try:
        compose_loaded(loaded)
        compose_pending(pending)
    except SQLAlchemyError:
        # The change is committed; its notices wait for the next delivery or the worker.
        db.session.rollback()
        current_app.logger.warning("Composing e-mails after the commit failed", exc_info=True)
        return 0, 0
    sent, failed = deliver(ids)
    if ids:
        more_sent, more_failed = retry_due(limit=5)
        sent, failed = sent + more_sent, failed + more_failed
    return sent, failed


def discard_new() -> None:
    """Forget the messages queued in a transaction that was rolled back."""
    db.session.info.pop(SESSION_KEY, None)
    db.session.info.pop(NOTICES_KEY, None)


def retry_due(limit: int = 5) -> tuple[int, int]:
    """Retry unsent messages whose last attempt is a while ago (bounded attempts)."""
    if not mail_configured():
        return 0, 0
    due = utcnow() - RETRY_AFTER
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status.in_((QUEUED, FAILED)),
            OutboxMessage.attempts < MAX_AUTO_ATTEMPTS,
            or_(OutboxMessage.last_attempt_at.is_(None), OutboxMessage.last_attempt_at < due),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    return deliver(list(ids))


def send_all_unsent() -> tuple[int, int]:
    """Try every queued or failed message once more, however often it failed before."""
    compose_all_pending()
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status.in_((QUEUED, FAILED, SENDING)))
        .order_by(OutboxMessage.id)
    ).all()
    return deliver(list(ids))


def outbox_select(status: str = ""):
    """Return the query listing outbox messages, newest first."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status:
        query = query.where(OutboxMessage.status == status)
    return query


def outbox_counts() -> dict[str, int]:
    """Count outbox messages per status."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    return dict(rows)
