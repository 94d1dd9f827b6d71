"""Privacy page, self-service data export and account deletion."""

import json
from datetime import date

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from matchmaker.extensions import db
from matchmaker.privacy import services
from matchmaker.privacy.forms import DeleteAccountForm

bp = Blueprint("privacy", __name__)


@bp.get("/privacy")
def policy():
    """Show the privacy notice; the controller's details come from the configuration."""
    config = current_app.config
    controller = {
        "name": config["PRIVACY_CONTROLLER_NAME"],
        "address": config["PRIVACY_CONTROLLER_ADDRESS"],
        "email": config["PRIVACY_CONTROLLER_EMAIL"],
        "dpo": config["PRIVACY_DPO_CONTACT"],
    }
    return render_template(
        "privacy/policy.html", controller=controller, retention_days=config["RETENTION_DAYS"]
    )


@bp.get("/account/data")
@login_required
def my_data():
    """Offer the member their data as a download, and the deletion of their account."""
    return render_template(
        "privacy/my_data.html",
        form=DeleteAccountForm(),
        profiles=services.owned_profiles(current_user),
    )


@bp.get("/account/data.json")
@login_required
def export():
    """Download everything stored about the current member as JSON."""
    document = services.personal_data(current_user)
    filename = f"matchmaker-daten-{date.today().isoformat()}.json"
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@bp.post("/account/delete")
@login_required
def delete_account():
    """Delete the current member's account after the password is confirmed."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.password.data):
            form.password.errors.append(_("The password is wrong."))
        else:
            user = current_user._get_current_object()
            logout_user()
            services.delete_account(user)
            db.session.commit()
            flash(_("Your account and your personal data have been deleted."), "success")
            return redirect(url_for("core.index"))
    return render_template(
        "privacy/my_data.html", form=form, profiles=services.owned_profiles(current_user)
    ), 400
