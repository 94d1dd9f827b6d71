"""The organisers' outbox: outgoing e-mails with their delivery state, and sending them now."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from matchmaker.events.forms import ConfirmForm
from matchmaker.events.views.common import bp
from matchmaker.extensions import db
from matchmaker.mail import services as mail
from matchmaker.mail.models import STATUSES
from matchmaker.web import bad_request, organiser_required

OUTBOX_PAGE_SIZE = 50


@bp.get("/outbox")
@organiser_required
def outbox():
    """List the outgoing e-mails with their delivery state."""
    status = request.args.get("status", "")
    if status and status not in STATUSES:
        raise bad_request(_("Unknown action."))
    page_arg = request.args.get("page", "1")
    page = int(page_arg) if page_arg.isdigit() and 0 < int(page_arg) < 100_000 else 1
    pagination = db.paginate(
        mail.outbox_select(status), page=page, per_page=OUTBOX_PAGE_SIZE, error_out=False
    )
    return render_template(
        "events/outbox.html",
        pagination=pagination,
        status=status,
        statuses=STATUSES,
        counts=mail.outbox_counts(),
        configured=mail.mail_configured(),
        form=ConfirmForm(),
    )


@bp.post("/outbox/send")
@organiser_required
def outbox_send():
    """Try to send every unsent e-mail now."""
    if not ConfirmForm().validate_on_submit():
        raise bad_request(_("Unknown action."))
    if not mail.mail_configured():
        flash(_("No SMTP server is configured (MAIL_SERVER); nothing was sent."), "error")
    else:
        sent, failed = mail.send_all_unsent()
        flash(_("Sent: %(sent)d, failed: %(failed)d.", sent=sent, failed=failed), "info")
    current_app.logger.info("Outbox sent by %s", current_user.email)
    return redirect(url_for("events.outbox"))
