"""Settings from the environment; SQLite in ``instance/`` by default."""

import os
from pathlib import Path


def normalise_database_url(url: str) -> str:
    """Make a PostgreSQL URL use the psycopg 3 driver that the project ships."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Settings shared by every environment, read from the environment at app creation."""

    def __init__(self, instance_path: str) -> None:
        env = os.environ
        self.ENV_NAME = env.get("MATCHMAKER_ENV", "development")
        self.SECRET_KEY = env.get("SECRET_KEY")
        default_db = "sqlite:///" + str(Path(instance_path) / "matchmaker.db")
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env.get("DATABASE_URL", default_db))
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.BABEL_DEFAULT_LOCALE = "de"
        self.BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"
        self.LANGUAGES = ("de", "en")
        self.WTF_CSRF_TIME_LIMIT = None
        self.MAX_CONTENT_LENGTH = int(env.get("MAX_CONTENT_LENGTH", 2 * 1024 * 1024))
        self.DIRECTORY_PAGE_SIZE = int(env.get("DIRECTORY_PAGE_SIZE", 20))
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = env.get("SESSION_COOKIE_SECURE", "0") == "1"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
