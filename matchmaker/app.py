"""The application factory: create_app and the register_* steps it runs."""

import os
import secrets
from pathlib import Path

from flask import Flask

from matchmaker import cli, web
from matchmaker.accounts.views import bp as accounts_bp
from matchmaker.api.pages import bp as tokens_bp
from matchmaker.api.views import bp as api_bp
from matchmaker.config import Config
from matchmaker.core import audit, errors, security
from matchmaker.core.i18n import register_template_helpers as register_i18n
from matchmaker.core.i18n import request_locale
from matchmaker.core.views import bp as core_bp
from matchmaker.directory.import_views import bp as imports_bp
from matchmaker.directory.views import bp as directory_bp
from matchmaker.events.views import bp as events_bp
from matchmaker.extensions import babel, csrf, db, limiter, login_manager, migrate
from matchmaker.jobs import mailing, refits
from matchmaker.jobs.views import bp as jobs_bp
from matchmaker.matching.views import bp as matching_bp
from matchmaker.privacy.views import bp as privacy_bp
from matchmaker.scheduling.views import bp as schedules_bp

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Create and configure the Flask application."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(Config(app.instance_path))
    if config:
        app.config.update(config)
    configure_secret_key(app)
    configure_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def configure_secret_key(app: Flask) -> None:
    """Require SECRET_KEY in production; elsewhere keep a random one in instance/.

    The key is stored in a file rather than generated per process so that every
    worker of one host signs sessions alike.
    """
    if app.config.get("SECRET_KEY"):
        return
    if app.config["ENV_NAME"] == "production":
        raise RuntimeError("SECRET_KEY must be set when MATCHMAKER_ENV=production.")
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()


def configure_proxies(app: Flask) -> None:
    """Trust X-Forwarded-For from as many reverse proxies as TRUSTED_PROXIES says.

    Login limits key on the client's address; behind a proxy every client would
    otherwise share the proxy's address.
    """
    hops = int(app.config.get("TRUSTED_PROXIES", 0))
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_extensions(app: Flask) -> None:
    """Bind the extensions to the app."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    security.register(app)
    audit.register(app)
    refits.register(app)
    mailing.register(app)
    web.register(app)
    babel.init_app(
        app,
        locale_selector=request_locale,
        default_translation_directories=app.config["BABEL_TRANSLATION_DIRECTORIES"],
    )


def register_blueprints(app: Flask) -> None:
    """Register one blueprint per area."""
    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(directory_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(matching_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(schedules_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(api_bp)


def register_errorhandlers(app: Flask) -> None:
    """Render friendly error pages instead of bare status codes."""
    errors.register(app)


def register_template_helpers(app: Flask) -> None:
    """Expose the locale helpers and taxonomy labels to templates."""
    register_i18n(app)


def register_commands(app: Flask) -> None:
    """Add the flask CLI commands."""
    cli.register(app)
