"""Profile, solution and search forms; choices come from the taxonomy tables."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from matchmaker.directory import taxonomy

MAX_TEXT = 5000
MAX_TAGS = 20
MAX_TAG_LENGTH = 60


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def parse_tags(raw: str | None) -> list[str]:
    """Split comma-separated tags, trimmed, without empties or duplicates."""
    tags: list[str] = []
    for part in (raw or "").split(","):
        tag = " ".join(part.split())
        if tag and tag.lower() not in (t.lower() for t in tags):
            tags.append(tag)
    return tags


class ProfileForm(FlaskForm):
    """Create or edit an SME needs profile or a startup profile."""

    kind = RadioField(
        _l("Kind of profile"),
        choices=[
            SelectChoice("sme", _l("SME: we are looking for AI solutions")),
            SelectChoice("startup", _l("Startup: we offer AI solutions")),
        ],
        validators=[DataRequired(message=_l("Please choose the kind of profile."))],
    )
    name = StringField(_l("Organisation name"), validators=[DataRequired(), Length(max=200)])
    sector = SelectField(_l("Sector"), validators=[Optional()])
    sector_detail = StringField(
        _l("Sector in your own words"),
        validators=[Optional(), Length(max=200)],
        description=_l("For example: photovoltaics operator, municipal utility."),
    )
    city = StringField(_l("Town"), validators=[DataRequired(), Length(max=120)])
    region = StringField(
        _l("Region"),
        validators=[Optional(), Length(max=120)],
        description=_l("For example: Niederlausitz, Oberlausitz, Spree-Neiße."),
    )
    employees = IntegerField(
        _l("Employees"),
        validators=[
            Optional(),
            NumberRange(
                min=1, max=1_000_000, message=_l("Enter a number between 1 and 1,000,000.")
            ),
        ],
    )
    website = URLField(
        _l("Website"),
        validators=[
            Optional(),
            URL(message=_l("Enter a full web address, e.g. https://example.de.")),
            Length(max=300),
        ],
    )
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=120)])
    contact_role = StringField(_l("Role"), validators=[Optional(), Length(max=120)])
    contact_email = EmailField(
        _l("Contact e-mail"), validators=[Optional(), Email(), Length(max=254)]
    )
    contact_phone = StringField(
        _l("Contact phone"),
        validators=[
            Optional(),
            Length(max=60),
            Regexp(
                r"^[0-9+()/ .-]{4,60}$", message=_l("Enter a phone number (digits, +, spaces).")
            ),
        ],
    )
    contact_visibility = RadioField(
        _l("Who may see the contact person, e-mail and phone?"),
        choices=[
            SelectChoice("public", _l("Everyone")),
            SelectChoice("members", _l("Registered members")),
            SelectChoice("organisers", _l("Only the organisers")),
        ],
        default="members",
    )
    language = SelectField(
        _l("Language of the texts"),
        choices=[
            SelectChoice("de", _l("German")),
            SelectChoice("en", _l("English")),
            SelectChoice("mixed", _l("Mixed")),
        ],
        default="de",
    )
    description = TextAreaField(
        _l("Description"),
        validators=[DataRequired(), Length(min=10, max=MAX_TEXT)],
    )
    categories = MultiCheckboxField(_l("AI use cases"), validators=[Optional()])
    tags = StringField(
        _l("Keywords"),
        validators=[Optional(), Length(max=MAX_TAGS * (MAX_TAG_LENGTH + 2))],
        description=_l("Separated by commas, e.g. DATEV, OCR, Belegerfassung."),
    )
    consent = BooleanField(
        _l(
            "I agree that Matchmaker stores this profile and shows it in the directory and in "
            "partner suggestions as described in the privacy notice. I can withdraw this "
            "consent at any time by deleting the profile."
        ),
        validators=[DataRequired(message=_l("Without your consent we cannot store the profile."))],
    )
    submit = SubmitField(_l("Save profile"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sector.choices = [
            SelectChoice("", _l("— please choose —")),
            *taxonomy.sector_choices(),
        ]
        self.categories.choices = taxonomy.category_choices()

    def validate_tags(self, field: StringField) -> None:
        """Limit the number and length of keywords."""
        tags = parse_tags(field.data)
        if len(tags) > MAX_TAGS:
            raise ValidationError(_l("At most 20 keywords, please."))
        if any(len(tag) > MAX_TAG_LENGTH for tag in tags):
            raise ValidationError(_l("A keyword may have at most 60 characters."))


class SolutionForm(FlaskForm):
    """Describe one solution of a startup."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(
        _l("What it does and for whom"),
        validators=[DataRequired(), Length(min=10, max=MAX_TEXT)],
    )
    categories = MultiCheckboxField(_l("AI use cases"), validators=[Optional()])
    maturity = SelectField(
        _l("Maturity"),
        choices=[
            SelectChoice("idea", _l("Idea")),
            SelectChoice("pilot", _l("Pilot")),
            SelectChoice("product", _l("Product in use")),
        ],
        default="product",
    )
    references = TextAreaField(
        _l("References (sectors or customers)"), validators=[Optional(), Length(max=2000)]
    )
    pricing = StringField(_l("Pricing model"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Save solution"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.categories.choices = taxonomy.category_choices()


class ConfirmForm(FlaskForm):
    """An empty form that only carries the CSRF token, for confirmations."""

    submit = SubmitField(_l("Yes, delete"))


class ImportUploadForm(FlaskForm):
    """Upload a profile file (CSV, Excel or JSON) for a preview."""

    file = FileField(
        _l("File"),
        validators=[
            FileRequired(_l("Please choose a file.")),
            FileAllowed(
                ["csv", "txt", "tsv", "xlsx", "json"],
                _l("Only CSV, Excel (.xlsx) or JSON files can be imported."),
            ),
        ],
    )
    submit = SubmitField(_l("Show preview"))


class ImportConfirmForm(FlaskForm):
    """Confirm an import after its preview (carries the CSRF token)."""

    submit = SubmitField(_l("Import now"))
