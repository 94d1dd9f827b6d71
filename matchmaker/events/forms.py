"""Forms for events, registrations, availability and meeting wishes."""

from collections.abc import Callable
from functools import cache, partial

from babel.support import Translations
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import escape
from wtforms import (
    DateField,
    DateTimeLocalField,
    EmailField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms import Form as BaseForm
from wtforms.i18n import messages_path
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from matchmaker.events.programme import session_problems
from matchmaker.events.registrations import MAX_ATTENDEES, MAX_CAPACITY, MAX_TABLES
from matchmaker.events.wishes import MAX_MESSAGE

ATTENDEE_ROWS = 4


def parse_breaks(raw: str | None) -> list[dict]:
    """Read breaks, one per line: "after slot, minutes, label" (e.g. "4, 60, Lunch")."""
    breaks = []
    for number, line in enumerate((raw or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace(";", ",").split(",", 2)]
        try:
            after, minutes = int(parts[0]), int(parts[1])
        except (ValueError, IndexError):
            raise ValueError(
                _l(
                    'Line %(n)d: write "after slot, minutes, label", e.g. "4, 60, Lunch".',
                    n=number,
                )
            ) from None
        label = parts[2] if len(parts) > 2 else ""
        breaks.append({"after_slot": after, "minutes": minutes, "label": label[:80]})
    return breaks


def format_breaks(breaks: list[dict]) -> str:
    """Write breaks in the form that :func:`parse_breaks` reads."""
    return "\n".join(
        f"{b['after_slot']}, {b['minutes']}, {b.get('label', '')}".rstrip(", ") for b in breaks
    )


def parse_table_names(raw: str | None) -> list[str]:
    """Read table names, one per line, without empty lines."""
    return [line.strip()[:40] for line in (raw or "").splitlines() if line.strip()]


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EventForm(FlaskForm):
    """Create or edit an event with its networking session."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    date = DateField(_l("Date"), validators=[InputRequired()])
    venue = StringField(_l("Venue"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    capacity = IntegerField(
        _l("Seats"),
        validators=[
            InputRequired(),
            NumberRange(
                min=1, max=MAX_CAPACITY, message=_l("Enter a capacity between 1 and 10,000 seats.")
            ),
        ],
    )
    sme_capacity = IntegerField(
        _l("Seats for SMEs"),
        description=_l("Optional: SMEs get their own seats and waiting list."),
        validators=[
            Optional(),
            NumberRange(min=0, max=MAX_CAPACITY, message=_l("Enter between 0 and 10,000 seats.")),
        ],
    )
    startup_capacity = IntegerField(
        _l("Seats for startups"),
        description=_l(
            "Optional: startups get their own seats and waiting list, so that one side cannot "
            "take every seat."
        ),
        validators=[
            Optional(),
            NumberRange(min=0, max=MAX_CAPACITY, message=_l("Enter between 0 and 10,000 seats.")),
        ],
    )
    registration_opens = DateTimeLocalField(
        _l("Registration opens"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()]
    )
    registration_closes = DateTimeLocalField(
        _l("Registration closes"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()]
    )
    first_slot = TimeField(_l("First slot starts at"), validators=[InputRequired()])
    slot_minutes = IntegerField(
        _l("Slot length (minutes)"),
        validators=[
            InputRequired(),
            NumberRange(min=5, max=240, message=_l("Enter between 5 and 240 minutes.")),
        ],
    )
    slot_count = IntegerField(
        _l("Number of slots"),
        validators=[
            InputRequired(),
            NumberRange(min=1, max=48, message=_l("Enter between 1 and 48 slots.")),
        ],
    )
    morning_slots = IntegerField(
        _l("Morning slots"),
        default=0,
        description=_l("Slots 1 to this number count as the morning; 0 for no distinction."),
        validators=[
            InputRequired(),
            NumberRange(min=0, max=48, message=_l("Enter between 0 and 48 slots.")),
        ],
    )
    breaks = TextAreaField(
        _l("Breaks"),
        description=_l('One per line: after slot, minutes, label – e.g. "4, 60, Lunch".'),
        validators=[Optional(), Length(max=2000)],
    )
    table_count = IntegerField(
        _l("Tables"),
        validators=[
            InputRequired(),
            NumberRange(min=1, max=MAX_TABLES, message=_l("Enter between 1 and 2,000 tables.")),
        ],
    )
    table_names = TextAreaField(
        _l("Table names"),
        description=_l("Optional: one name or number per line, one line per table."),
        validators=[Optional(), Length(max=10000)],
    )
    max_meetings = IntegerField(
        _l("Meetings per participant at most"),
        validators=[
            InputRequired(),
            NumberRange(min=1, max=48, message=_l("Enter between 1 and 48 meetings.")),
        ],
    )
    submit = SubmitField(_l("Save"))

    def validate_breaks(self, field) -> None:
        """Check that every line of the breaks can be read."""
        try:
            parse_breaks(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc.args[0])) from None

    def validate(self, extra_validators=None) -> bool:
        """Run the field checks, then the checks of the session as a whole."""
        if not super().validate(extra_validators):
            return False
        problems = session_problems(self.event_data())
        for name, message in problems.items():
            getattr(self, name).errors.append(message)
        return not problems

    def event_data(self) -> dict:
        """Return the validated data for the event services."""
        return {
            "title": self.title.data.strip(),
            "date": self.date.data,
            "venue": self.venue.data.strip(),
            "description": (self.description.data or "").strip(),
            "capacity": self.capacity.data,
            "sme_capacity": self.sme_capacity.data,
            "startup_capacity": self.startup_capacity.data,
            "registration_opens": self.registration_opens.data,
            "registration_closes": self.registration_closes.data,
            "first_slot": self.first_slot.data,
            "slot_minutes": self.slot_minutes.data,
            "slot_count": self.slot_count.data,
            "morning_slots": self.morning_slots.data,
            "breaks": parse_breaks(self.breaks.data),
            "table_count": self.table_count.data,
            "table_names": parse_table_names(self.table_names.data),
            "max_meetings": self.max_meetings.data,
        }


class AttendeeEntryForm(BaseForm):
    """One attendee row; an empty row is ignored."""

    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    email = EmailField(
        _l("E-mail"),
        validators=[
            Optional(),
            Email(message=_l("Enter a valid e-mail address.")),
            Length(max=254),
        ],
    )

    def validate(self, extra_validators=None) -> bool:
        """Require both name and e-mail address once either is given."""
        valid = super().validate(extra_validators)
        name = (self.name.data or "").strip()
        email = (self.email.data or "").strip()
        if email and not name:
            self.name.errors = [*self.name.errors, _l("Enter the attendee's name.")]
            valid = False
        if name and not email:
            self.email.errors = [*self.email.errors, _l("Enter the attendee's e-mail address.")]
            valid = False
        return valid


@cache
def wtforms_catalogue(locale: str) -> Translations:
    """Return WTForms' own messages in one language, read from disk once per process."""
    return Translations.load(messages_path(), [locale], domain="wtforms")


class SignedWhenShown:
    """A CSRF token signed only when a page shows it (str or HTML), once."""

    def __init__(self, sign: Callable[[], str]) -> None:
        self._sign = sign
        self._token: str | None = None

    def __str__(self) -> str:
        if self._token is None:
            self._token = self._sign()
        return self._token

    def __html__(self) -> str:
        return str(escape(str(self)))


class RegistrationForm(FlaskForm):
    """Register one or more attendees of a profile for an event."""

    class Meta:
        def get_translations(self, form):
            """Use WTForms' catalogue of the request's language (Flask-WTF reads it per request;
            a burst of registrations spent a tenth of its form handling on that)."""
            return wtforms_catalogue(str(get_locale()))

        def build_csrf(self, form):
            """Sign the form's CSRF token only when the page shows it: a registration that
            succeeds answers with a redirect and shows none (signing it cost a registration
            about 3% of its CPU). What is checked of a submitted form stays the same."""
            csrf = super().build_csrf(form)
            if csrf is not None:
                sign = csrf.generate_csrf_token
                csrf.generate_csrf_token = lambda field: SignedWhenShown(partial(sign, field))
            return csrf

    profile_id = SelectField(_l("Registering organisation"), coerce=int, validate_choice=True)
    # A submitted form binds only the rows sent (binding rows is most of a form's cost); the
    # page adds empty rows up to ATTENDEE_ROWS when it shows the form (add_empty_rows). The
    # rows have no label of their own (the page numbers them), so none is translated.
    attendees = FieldList(
        FormField(AttendeeEntryForm, label=""), min_entries=1, max_entries=MAX_ATTENDEES
    )
    submit = SubmitField(_l("Register for the event"))

    def add_empty_rows(self) -> None:
        """Offer empty attendee rows up to ATTENDEE_ROWS for the page."""
        while len(self.attendees) < ATTENDEE_ROWS:
            self.attendees.append_entry()

    def people(self) -> list[tuple[str, str]]:
        """Return the filled-in attendee rows as (name, e-mail)."""
        rows = [
            ((row.form.name.data or "").strip(), (row.form.email.data or "").strip())
            for row in self.attendees
        ]
        return [(name, email) for name, email in rows if name or email]

    def validate_attendees(self, field) -> None:
        """Require at least one attendee."""
        if not self.people():
            raise ValidationError(_l("Enter at least one attendee."))


class CapacityForm(FlaskForm):
    """Change the number of seats."""

    capacity = IntegerField(
        _l("Seats"),
        validators=[
            InputRequired(),
            NumberRange(
                min=1, max=MAX_CAPACITY, message=_l("Enter a capacity between 1 and 10,000 seats.")
            ),
        ],
    )
    submit = SubmitField(_l("Change capacity"))


class ConfirmForm(FlaskForm):
    """Confirm a change with a button (and the CSRF token)."""

    submit = SubmitField(_l("Yes, cancel"))


class ConfirmCancellationForm(ConfirmForm):
    """Cancel a whole registration: only the confirmation page's form carries ``confirm``."""

    confirm = HiddenField(validators=[InputRequired(), AnyOf(["yes"])])


class ActionForm(FlaskForm):
    """A button for one action among several (moving, attendance, answers)."""

    action = HiddenField(validators=[DataRequired()])


class AvailabilityForm(FlaskForm):
    """Slots where a profile cannot meet, and how many meetings it wants."""

    unavailable = MultiCheckboxField(_l("Not available in these slots"), coerce=int)
    desired_meetings = IntegerField(
        _l("How many meetings would you like?"),
        description=_l("Leave empty for as many as possible."),
        validators=[Optional(), NumberRange(min=0, max=48)],
    )
    submit = SubmitField(_l("Save"))


class MeetingRequestForm(FlaskForm):
    """Ask another profile for a meeting at an event."""

    event_id = HiddenField(validators=[DataRequired()])
    from_profile_id = SelectField(_l("On behalf of"), coerce=int, validate_choice=True)
    message = TextAreaField(
        _l("Short message"),
        description=_l("What would you like to talk about? At most 500 characters."),
        validators=[Optional(), Length(max=MAX_MESSAGE)],
    )
    submit = SubmitField(_l("Send meeting request"))


class MarkForm(FlaskForm):
    """Mark another profile "must meet" or "not interested", or clear the mark."""

    event_id = HiddenField(validators=[DataRequired()])
    from_profile_id = SelectField(_l("On behalf of"), coerce=int, validate_choice=True)
    kind = SelectField(
        _l("Your wish"),
        choices=[
            SelectChoice("must_meet", _l("Must meet")),
            SelectChoice("not_interested", _l("Not interested")),
            SelectChoice("", _l("No preference")),
        ],
        validate_choice=True,
    )
    submit = SubmitField(_l("Save wish"))
