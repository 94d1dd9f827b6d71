"""WSGI entry point: ``gunicorn wsgi:app``."""

from matchmaker.app import create_app

app = create_app()
