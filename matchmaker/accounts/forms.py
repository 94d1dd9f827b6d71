"""Registration and login forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from matchmaker.accounts.models import User
from matchmaker.extensions import db

MIN_PASSWORD_LENGTH = 10


class RegistrationForm(FlaskForm):
    """Create a member account."""

    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=_l("At least 10 characters."),
    )
    password_again = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Create account"))

    def validate_email(self, field: EmailField) -> None:
        """Refuse an address that already has an account."""
        email = field.data.strip().lower()
        if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
            raise ValidationError(_l("An account with this e-mail address already exists."))


class LoginForm(FlaskForm):
    """Log in with e-mail and password."""

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Stay logged in"))
    submit = SubmitField(_l("Log in"))


class PasswordResetRequestForm(FlaskForm):
    """Ask for a password reset link."""

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Send link"))


class PasswordResetForm(FlaskForm):
    """Choose a new password."""

    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=_l("At least 10 characters."),
    )
    password_again = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))
