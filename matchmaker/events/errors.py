"""The refusal every event use case raises."""


class EventError(Exception):
    """A use case was refused; the message is meant for the user and nothing was changed."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
