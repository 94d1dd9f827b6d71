"""Request bodies: one declaration per body gives both its JSON Schema and its validation.

Bodies are validated strictly: a JSON object with exactly the documented fields (unknown
fields are refused, so that typos do not pass silently), the documented types and lengths, no
NUL characters (PostgreSQL cannot store them) and no unpaired surrogates.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request
from flask_babel import gettext as _

from matchmaker.events.registrations import MAX_ATTENDEES
from matchmaker.events.wishes import MAX_MESSAGE

NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
E_MAIL = "^[^\\u0000@]+@[^\\u0000@]+$"
MAX_DEPTH = 20


class BodyError(Exception):
    """The request body is refused: 400 (not JSON), 415 (not declared JSON) or 422 (invalid)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def is_storable(text: str) -> bool:
    """Tell whether a text can be stored: no NUL characters and valid Unicode."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Text:
    """A string field with length limits and a pattern the server enforces."""

    min_length: int = 0
    max_length: int = 200
    pattern: str = NO_NUL
    kind: str = "text"  # text | not_blank | email
    description: str = ""

    def schema(self) -> dict:
        """Return the JSON Schema of the field."""
        schema = {
            "type": "string",
            "minLength": self.min_length,
            "maxLength": self.max_length,
            "pattern": self.pattern,
        }
        if self.description:
            schema["description"] = self.description
        return schema

    def clean(self, value: Any, path: str) -> str:
        """Return the value or raise BodyError."""
        if not isinstance(value, str):
            raise BodyError(422, _("%(field)s must be a text.", field=path), path)
        if not is_storable(value):
            raise BodyError(
                422, _("%(field)s contains characters that are not allowed.", field=path), path
            )
        if not self.min_length <= len(value) <= self.max_length:
            raise BodyError(
                422,
                _(
                    "%(field)s must have between %(min)d and %(max)d characters.",
                    field=path,
                    min=self.min_length,
                    max=self.max_length,
                ),
                path,
            )
        if self.kind == "not_blank" and not value.strip():
            raise BodyError(422, _("%(field)s must not be empty.", field=path), path)
        if self.kind == "email" and (
            value.count("@") != 1 or value.startswith("@") or value.endswith("@")
        ):
            raise BodyError(422, _("%(field)s must be an e-mail address.", field=path), path)
        return value


@dataclass(frozen=True)
class Array:
    """A list of items of one shape."""

    items: Any
    min_items: int = 0
    max_items: int = 100

    def schema(self) -> dict:
        """Return the JSON Schema of the field."""
        return {
            "type": "array",
            "items": self.items.schema(),
            "minItems": self.min_items,
            "maxItems": self.max_items,
        }

    def clean(self, value: Any, path: str) -> list:
        """Return the cleaned items or raise BodyError."""
        if not isinstance(value, list):
            raise BodyError(422, _("%(field)s must be a list.", field=path), path)
        if not self.min_items <= len(value) <= self.max_items:
            raise BodyError(
                422,
                _(
                    "%(field)s must have between %(min)d and %(max)d entries.",
                    field=path,
                    min=self.min_items,
                    max=self.max_items,
                ),
                path,
            )
        return [self.items.clean(item, f"{path}[{i}]") for i, item in enumerate(value)]


@dataclass(frozen=True)
class Object:
    """A JSON object with known fields; unknown fields are refused."""

    fields: dict[str, Any]
    required: tuple[str, ...] = ()
    description: str = ""
    title: str = field(default="")

    def schema(self) -> dict:
        """Return the JSON Schema of the object."""
        schema = {
            "type": "object",
            "properties": {name: spec.schema() for name, spec in self.fields.items()},
            "required": list(self.required),
            "additionalProperties": False,
        }
        if self.description:
            schema["description"] = self.description
        return schema

    def clean(self, value: Any, path: str = "") -> dict:
        """Return the cleaned object or raise BodyError."""
        label = path or _("The request body")
        if not isinstance(value, dict):
            raise BodyError(422, _("%(field)s must be a JSON object.", field=label), path or None)
        unknown = sorted(set(value) - set(self.fields))
        if unknown:
            name = f"{path}.{unknown[0]}" if path else unknown[0]
            raise BodyError(422, _("Unknown field: %(field)s.", field=name), name)
        cleaned = {}
        for name, spec in self.fields.items():
            full = f"{path}.{name}" if path else name
            if name not in value:
                if name in self.required:
                    raise BodyError(422, _("%(field)s is missing.", field=full), full)
                continue
            cleaned[name] = spec.clean(value[name], full)
        return cleaned


PROFILE_REF = Text(1, 80, description="The profile's reference (ref).")

REGISTRATION = Object(
    {
        "profile": PROFILE_REF,
        "attendees": Array(
            Object(
                {
                    "name": Text(1, 120, NOT_BLANK, "not_blank"),
                    "email": Text(3, 254, E_MAIL, "email"),
                },
                required=("name", "email"),
            ),
            min_items=1,
            max_items=MAX_ATTENDEES,
        ),
    },
    required=("profile", "attendees"),
    description="Register attendees of a profile; each takes one seat.",
)

MEETING_REQUEST = Object(
    {
        "from": PROFILE_REF,
        "to": PROFILE_REF,
        "message": Text(0, MAX_MESSAGE),
    },
    required=("from", "to"),
    description="Ask another registered profile for a meeting.",
)


def _reject_constant(name: str):
    raise ValueError(name)


def read_json(spec: Object) -> dict:
    """Parse the request body as JSON and validate it against a body declaration."""
    if not request.is_json:
        raise BodyError(415, _("Send the body as JSON (Content-Type: application/json)."))
    raw = request.get_data(cache=True)  # raises 413 above MAX_CONTENT_LENGTH
    max_length = current_app.config.get("MAX_CONTENT_LENGTH")
    if max_length is not None and len(raw) > max_length:
        raise BodyError(413, _("The data you sent exceeds the size limit."))
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BodyError(400, _("The request body is not valid JSON.")) from None
    return spec.clean(data)
