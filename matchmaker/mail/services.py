"""Queue e-mails in the outbox and deliver them over SMTP after the data is committed.

Composing a message only adds an outbox row (in the caller's transaction). Delivery happens
after the commit: :func:`deliver_new` sends what this session queued, :func:`retry_due` picks up
earlier failures, and ``flask outbox send`` retries everything that is not sent yet. A message is
claimed with a conditional UPDATE before sending, so two workers never send the same row.
Without ``MAIL_SERVER`` nothing is sent: messages stay queued and can be read in the outbox.
"""

import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import or_, select, update

from matchmaker.core.clock import utcnow
from matchmaker.extensions import db
from matchmaker.mail.models import FAILED, QUEUED, SENDING, SENT, OutboxMessage

SESSION_KEY = "outbox_new"
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


def mail_configured() -> bool:
    """Tell whether an SMTP server is configured."""
    return bool(current_app.config.get("MAIL_SERVER"))


def smtp_send(message: OutboxMessage) -> None:
    """Hand one message to the configured SMTP server (raises on failure)."""
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=True)
    email["Message-ID"] = make_msgid(domain="matchmaker")
    email.set_content(message.body)
    timeout = config.get("MAIL_TIMEOUT", 10)
    with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=timeout) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(email)


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
    """Send the given messages now; return how many were sent and how many failed."""
    sent = failed = 0
    if not mail_configured():
        return sent, failed
    for message_id in message_ids:
        message = claim(message_id)
        if message is None:
            continue
        try:
            smtp_send(message)
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
        db.session.commit()
    return sent, failed


def deliver_new() -> tuple[int, int]:
    """Send what this session queued (call after the commit), then retry a few older ones."""
    ids = db.session.info.pop(SESSION_KEY, [])
    sent, failed = deliver(ids)
    if ids:
        more_sent, more_failed = retry_due(limit=5)
        sent, failed = sent + more_sent, failed + more_failed
    return sent, failed


def discard_new() -> None:
    """Forget the messages queued in a transaction that was rolled back."""
    db.session.info.pop(SESSION_KEY, None)


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
    from sqlalchemy import func

    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    return dict(rows)
