"""Confirm the deletion of an account."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length


class DeleteAccountForm(FlaskForm):
    """Delete one's own account after typing the password."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=200)])
    confirm = BooleanField(
        _l("I understand that my account and profiles will be deleted for good."),
        validators=[DataRequired(message=_l("Please confirm."))],
    )
    submit = SubmitField(_l("Delete my account"))
