"""Settings of the schedule area, read from the environment when the blueprint is registered.

They live here rather than in ``config.py`` so that the area stays self-contained; values set in
the app's config (e.g. by tests) win over the environment.
"""

import os

from flask import Flask

DEFAULTS: dict[str, float | int] = {
    # Seconds the solver may run in a schedule job (50 seats: well under this).
    "SCHEDULE_TIME_LIMIT": 20.0,
    # CP-SAT threads per solve.
    "SCHEDULE_WORKERS": 2,
    # SME ↔ startup pairs below this match score are not candidates.
    "SCHEDULE_MIN_SCORE": 0.05,
    # Added to the score of a "must meet" wish.
    "SCHEDULE_WISH_BONUS": 0.5,
    # Participants with a candidate this good should not be left without a meeting.
    "SCHEDULE_FAIRNESS_THRESHOLD": 0.1,
}


def configure(app: Flask) -> None:
    """Fill in the schedule settings the app's config does not set yet."""
    for name, default in DEFAULTS.items():
        if name not in app.config:
            app.config[name] = type(default)(os.environ.get(name, default))
