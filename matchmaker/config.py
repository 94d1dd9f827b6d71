"""Settings from the environment; SQLite in ``instance/`` by default.

Every setting the app reads is declared here (and listed in the README's configuration table);
values passed to ``create_app(config)`` (e.g. by tests) win over the environment.
"""

import json
import os
from pathlib import Path


def normalise_database_url(url: str) -> str:
    """Make a PostgreSQL URL use the psycopg 3 driver that the project ships."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _float_or_none(value: str | None) -> float | None:
    return None if value in (None, "") else float(value)


class Config:
    """Settings shared by every environment, read from the environment at app creation."""

    def __init__(self, instance_path: str) -> None:
        env = os.environ
        self.ENV_NAME = env.get("MATCHMAKER_ENV", "development")
        self.SECRET_KEY = env.get("SECRET_KEY")
        default_db = "sqlite:///" + str(Path(instance_path) / "matchmaker.db")
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env.get("DATABASE_URL", default_db))
        # No pool_pre_ping: extensions.replace_closed_connection finds the connections a
        # PostgreSQL restart closed without a round trip per request.
        self.SQLALCHEMY_ENGINE_OPTIONS = {}
        self.BABEL_DEFAULT_LOCALE = "de"
        self.BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"
        # The catalogues shipped with the package; tests point this at a copy.
        self.BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).parent / "translations")
        self.LANGUAGES = ("de", "en")
        self.WTF_CSRF_ENABLED = True  # the tests of everything but CSRF switch it off
        self.WTF_CSRF_TIME_LIMIT = None
        self.MAX_CONTENT_LENGTH = int(env.get("MAX_CONTENT_LENGTH", 2 * 1024 * 1024))
        self.DIRECTORY_PAGE_SIZE = int(env.get("DIRECTORY_PAGE_SIZE", 20))
        # Per-worker caches of the directory page, validated against the data version on
        # every request (matchmaker/directory/cache.py); DIRECTORY_CACHE=0 switches them off.
        self.DIRECTORY_CACHE = env.get("DIRECTORY_CACHE", "1").lower() not in ("0", "false", "no")
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        production = self.ENV_NAME == "production"
        self.SESSION_COOKIE_SECURE = (
            env.get("SESSION_COOKIE_SECURE", "1" if production else "0") == "1"
        )
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        # Rate limits live in Redis when several workers or hosts must share them
        # (e.g. redis://127.0.0.1:6379/0); memory:// suits the embedded default.
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI", "memory://")
        # Stated, not left to Flask-Limiter: its one limiter object would otherwise carry an
        # earlier app's RATELIMIT_ENABLED=False over to every app created after it.
        self.RATELIMIT_ENABLED = True
        self.RATELIMIT_HEADERS_ENABLED = True
        # Background jobs (matchmaker/jobs/): RQ queues on Redis; the jobs' state is in the
        # database. One queue name per deployment (tests use their own).
        self.REDIS_URL = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.JOBS_QUEUE = env.get("JOBS_QUEUE", "matchmaker")
        schedule_timeout = int(env.get("JOBS_SCHEDULE_TIMEOUT", 900))
        self.JOBS_DEFAULT_TIMEOUT = int(env.get("JOBS_DEFAULT_TIMEOUT", 1800))
        self.JOBS_TIMEOUTS = {
            "build": schedule_timeout,
            "reoptimise": schedule_timeout,
            "replan": schedule_timeout,
            "refit": int(env.get("JOBS_REFIT_TIMEOUT", 600)),
        }
        # How long RQ keeps a finished job in Redis (our record stays in the database).
        self.JOBS_RESULT_TTL = int(env.get("JOBS_RESULT_TTL", 3600))
        # A worker's heartbeat; a job whose worker missed it by 60 s more is given up.
        self.JOBS_HEARTBEAT_SECONDS = int(env.get("JOBS_HEARTBEAT_SECONDS", 10))
        self.JOBS_MAINTENANCE_SECONDS = int(env.get("JOBS_MAINTENANCE_SECONDS", 60))
        # The job page reloads itself this often while the job is queued or running.
        self.JOBS_REFRESH_SECONDS = int(env.get("JOBS_REFRESH_SECONDS", 2))
        # A participant reminded within this many hours is left out of the next reminder to the
        # same group, unless the organiser includes them explicitly.
        self.REMINDER_REPEAT_HOURS = int(env.get("REMINDER_REPEAT_HOURS", 24))
        # Ended jobs and their files (PDFs, CSVs) are deleted this many days after they ended.
        self.JOBS_RETENTION_DAYS = int(env.get("JOBS_RETENTION_DAYS", 30))
        # A running build writes its progress at most this often (a write per solver event
        # would flood the database).
        self.JOBS_PROGRESS_SECONDS = float(env.get("JOBS_PROGRESS_SECONDS", 1.0))
        # A ceiling per client address that a whole venue behind one address stays below;
        # failures are counted per account and address, and per account (accounts/throttling.py).
        self.LOGIN_RATE_LIMIT = env.get("LOGIN_RATE_LIMIT", "100 per minute;1000 per hour")
        # Reverse proxies in front of the app whose X-Forwarded-For is trusted (0: none).
        self.TRUSTED_PROXIES = int(env.get("TRUSTED_PROXIES", 0))
        self.LOGIN_MAX_FAILURES = int(env.get("LOGIN_MAX_FAILURES", 5))
        self.LOGIN_ACCOUNT_MAX_FAILURES = int(env.get("LOGIN_ACCOUNT_MAX_FAILURES", 20))
        self.LOGIN_LOCKOUT_MINUTES = int(env.get("LOGIN_LOCKOUT_MINUTES", 15))
        # Privacy notice: the controller in the sense of Art. 4(7) GDPR.
        self.PRIVACY_CONTROLLER_NAME = env.get(
            "PRIVACY_CONTROLLER_NAME", "Veranstalter des KI-Tags Lausitz"
        )
        self.PRIVACY_CONTROLLER_ADDRESS = env.get(
            "PRIVACY_CONTROLLER_ADDRESS", "Industriepark Schwarze Pumpe; 03139 Spremberg"
        )
        self.PRIVACY_CONTROLLER_EMAIL = env.get(
            "PRIVACY_CONTROLLER_EMAIL", "datenschutz@example.org"
        )
        self.PRIVACY_DPO_CONTACT = env.get("PRIVACY_DPO_CONTACT", "")
        self.RETENTION_DAYS = int(env.get("RETENTION_DAYS", 180))
        self.PASSWORD_RESET_MAX_AGE = int(env.get("PASSWORD_RESET_MAX_AGE", 3600))
        # werkzeug's generate_password_hash method; tests use a cheap one.
        self.PASSWORD_HASH_METHOD = env.get("PASSWORD_HASH_METHOD", "scrypt")
        # Keyword arguments of the matching engine (MatchEngine(**MATCHING_PARAMS)), as JSON;
        # empty: the engine's defaults.
        self.MATCHING_PARAMS = json.loads(env.get("MATCHING_PARAMS") or "{}")
        # Feedback re-ranker: least number of labelled pairs (with at least 5 of each kind)
        # before suggestions are re-ordered, and how many of the engine's best are re-ordered.
        self.RERANK_MIN_PAIRS = int(env.get("RERANK_MIN_PAIRS", 50))
        self.RERANK_POOL = int(env.get("RERANK_POOL", 20))
        # The fitted engine is stored in the database (model_artefacts) by the refit job;
        # this many of the newest artefacts are kept (a worker may still be loading one).
        self.MATCHING_ARTEFACTS_KEPT = int(env.get("MATCHING_ARTEFACTS_KEPT", 3))
        # Web workers load a newer artefact in a background thread and answer with the one
        # they have meanwhile (0: load it inside the request that notices it; tests).
        self.MATCHING_LOAD_IN_BACKGROUND = env.get("MATCHING_LOAD_IN_BACKGROUND", "1").lower() in (
            "1",
            "true",
            "yes",
        )
        # A refit job fits no earlier than this many seconds after it was queued, so a burst
        # of edits gives one fit (0: at once).
        self.MATCHING_REFIT_DELAY = int(env.get("MATCHING_REFIT_DELAY", 5))
        # Imports with more rows than this run as a job from the command line too (the
        # browser always imports through a job).
        self.IMPORT_JOB_ROWS = int(env.get("IMPORT_JOB_ROWS", 500))
        # The networking schedule. Seconds the solver may run in a schedule job
        # (50 seats: well under this).
        self.SCHEDULE_TIME_LIMIT = float(env.get("SCHEDULE_TIME_LIMIT", 20.0))
        # CP-SAT threads per solve.
        self.SCHEDULE_WORKERS = int(env.get("SCHEDULE_WORKERS", 2))
        # SME ↔ startup pairs below this match score are not candidates (unset: the engine's
        # calibrated score floor, matching/thresholds.py).
        self.SCHEDULE_MIN_SCORE = _float_or_none(env.get("SCHEDULE_MIN_SCORE"))
        # SME ↔ startup pairs are candidates only among the this many best of either side
        # (0: no limit): 3,000 x 2,000 pairs would be 6 million, each meets at most a few.
        self.SCHEDULE_CANDIDATES_PER_PARTICIPANT = int(
            env.get("SCHEDULE_CANDIDATES_PER_PARTICIPANT", 30)
        )
        # Added to the score of a "must meet" wish.
        self.SCHEDULE_WISH_BONUS = float(env.get("SCHEDULE_WISH_BONUS", 0.5))
        # Participants with a candidate this good should not be left without a meeting (unset:
        # the calibrated level "possible", so it moves with the engine's score scale).
        self.SCHEDULE_FAIRNESS_THRESHOLD = _float_or_none(env.get("SCHEDULE_FAIRNESS_THRESHOLD"))
        # Agendas rendered per part of the PDF of all agendas (the parts are joined): bounds
        # the memory WeasyPrint needs, about 1 MiB per agenda of a part.
        self.PDF_AGENDAS_PER_PART = max(1, int(env.get("PDF_AGENDAS_PER_PART", 200)))
        # Processes that lay out parts of that PDF at once (WeasyPrint uses one core each).
        self.PDF_PROCESSES = max(1, int(env.get("PDF_PROCESSES", 2)))
        # Outgoing e-mail over SMTP; without MAIL_SERVER messages only land in the outbox.
        self.MAIL_SERVER = env.get("MAIL_SERVER", "")
        self.MAIL_PORT = int(env.get("MAIL_PORT", 25))
        self.MAIL_USERNAME = env.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD", "")
        self.MAIL_USE_TLS = env.get("MAIL_USE_TLS", "0").lower() in ("1", "true", "yes")
        self.MAIL_DEFAULT_SENDER = env.get("MAIL_DEFAULT_SENDER", "Matchmaker <noreply@localhost>")
        self.MAIL_TIMEOUT = float(env.get("MAIL_TIMEOUT", 10))
        # Registration e-mails are composed by the job worker: its compose job starts this many
        # seconds after it was queued and composes again after as many while more arrive, so
        # that a burst of registrations is composed in batches by one job (0: at once).
        self.MAIL_COMPOSE_DELAY = float(env.get("MAIL_COMPOSE_DELAY", 0.05))
