"""Forms of the job pages."""

from flask_wtf import FlaskForm


class CancelJobForm(FlaskForm):
    """Cancel a job (the CSRF token is the whole form)."""
