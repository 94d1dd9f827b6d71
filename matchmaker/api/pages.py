"""The API token page: create (the token is shown once), list and revoke personal tokens."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from matchmaker.api import services
from matchmaker.api.forms import RevokeTokenForm, TokenForm
from matchmaker.api.models import ApiToken
from matchmaker.extensions import db

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


def render_page(form: TokenForm, secret: str | None = None, status: int = 200):
    """Render the token page, with a just-created secret if there is one."""
    response = render_template(
        "accounts/tokens.html",
        form=form,
        tokens=services.tokens_of(current_user),
        secret=secret,
    )
    return response, status


@bp.get("")
@login_required
def index():
    """List the member's API tokens and offer to create one."""
    return render_page(TokenForm())


@bp.post("")
@login_required
def create():
    """Create a token and show its secret once (it is not stored, so not in a redirect)."""
    form = TokenForm()
    if not form.validate_on_submit():
        return render_page(form, status=400)
    try:
        _token, secret = services.create_token(current_user, form.name.data)
    except services.TokenError as error:
        db.session.rollback()
        form.name.errors = [*form.name.errors, error.message]
        return render_page(form, status=409)
    db.session.commit()
    response, status = render_page(TokenForm(formdata=None), secret=secret)
    return response, status, {"Cache-Control": "no-store"}


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """Revoke one of the member's tokens."""
    form = RevokeTokenForm()
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if form.validate_on_submit():
        services.revoke_token(token)
        db.session.commit()
        flash(_("The token “%(name)s” has been revoked.", name=token.name), "success")
    return redirect(url_for("tokens.index"))
