"""Forms of the schedule pages: plain HTML forms, no JavaScript needed."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, StringField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from matchmaker.scheduling.models import REMINDER_AUDIENCES

SLOT_RANGE = NumberRange(min=1, max=1000, message=_l("Choose a slot."))
TABLE_RANGE = NumberRange(min=1, max=100_000, message=_l("Choose a table."))
MEETING_ACTIONS = ("lock", "unlock", "remove")


class ScheduleActionForm(FlaskForm):
    """Confirm an action without further input (build)."""


class PublishForm(FlaskForm):
    """Publish the draft the organiser checked on the confirmation page (its token)."""

    confirmed = HiddenField(validators=[DataRequired(), Length(max=40)])


class ReminderForm(FlaskForm):
    """Send the reminder the organiser checked on its preview page (group, repeat, token)."""

    audience = HiddenField(
        validators=[AnyOf(REMINDER_AUDIENCES, message=_l("Choose who gets the reminder."))]
    )
    again = BooleanField(_l("Also remind those who got this reminder recently"))
    confirmed = HiddenField(validators=[DataRequired(), Length(max=40)])


class ReplanForm(FlaskForm):
    """Re-optimise around the locked meetings, optionally keeping every slot before one."""

    from_slot = IntegerField(
        _l("Re-plan from slot"),
        validators=[Optional(), SLOT_RANGE],
        description=_l("Earlier slots stay exactly as they are; leave empty to re-plan all."),
    )


class MoveForm(FlaskForm):
    """Move a meeting to another slot and table."""

    meeting = StringField(_l("Meeting"), validators=[DataRequired(), Length(max=40)])
    slot = IntegerField(_l("Slot"), validators=[InputRequired(), SLOT_RANGE])
    table = IntegerField(_l("Table"), validators=[Optional(), TABLE_RANGE])


class SwapForm(FlaskForm):
    """Exchange the places of two meetings."""

    meeting = StringField(_l("Meeting"), validators=[DataRequired(), Length(max=40)])
    other = StringField(_l("Swap with"), validators=[DataRequired(), Length(max=40)])


class MeetingActionForm(FlaskForm):
    """Lock, release or remove one meeting."""

    meeting = StringField(_l("Meeting"), validators=[DataRequired(), Length(max=40)])
    action = StringField(
        _l("Action"),
        validators=[AnyOf(MEETING_ACTIONS, message=_l("Choose lock, release or remove."))],
    )


class AddMeetingForm(FlaskForm):
    """Add a meeting of two participants by hand."""

    a = IntegerField(_l("Participant"), validators=[InputRequired()])
    b = IntegerField(_l("Partner"), validators=[InputRequired()])
    slot = IntegerField(_l("Slot"), validators=[InputRequired(), SLOT_RANGE])
    table = IntegerField(_l("Table"), validators=[Optional(), TABLE_RANGE])


class MeetingRatingForm(FlaskForm):
    """Rate a meeting: 1 to 5 stars and whether a follow-up was agreed."""

    # radio buttons 1-5 in the template; the use case checks the value and says what is wrong
    stars = StringField(_l("Stars"))
    follow_up = BooleanField(_l("Follow-up agreed"))
