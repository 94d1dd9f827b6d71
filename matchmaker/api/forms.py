"""Forms of the API token page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length


class TokenForm(FlaskForm):
    """Name a new API token."""

    name = StringField(
        _l("Name of the token"),
        validators=[DataRequired(), Length(max=80)],
        description=_l("What the token is for, e.g. “CRM sync”."),
    )
    submit = SubmitField(_l("Create token"))


class RevokeTokenForm(FlaskForm):
    """An empty form that carries the CSRF token, to revoke a token."""

    submit = SubmitField(_l("Revoke"))
