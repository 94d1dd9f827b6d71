"""Forms of the job pages."""

from flask_wtf import FlaskForm


class CancelJobForm(FlaskForm):
    """Cancel a job (the CSRF token is the whole form)."""


class TrainReRankerForm(FlaskForm):
    """Start training the feedback re-ranker (the CSRF token is the whole form)."""
