"""Forms of the matching area."""

from flask_wtf import FlaskForm
from wtforms import StringField


class SuggestionVerdictForm(FlaskForm):
    """Mark a suggestion "passt" / "passt nicht" (the button pressed carries the verdict)."""

    # checked by the use case, which answers in the user's language
    verdict = StringField()
