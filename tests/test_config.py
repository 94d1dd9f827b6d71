"""Every setting the code reads is declared in config.py; each environment variable documented."""

import os
import re
import runpy
from pathlib import Path

import pytest

from matchmaker.config import Config

ROOT = Path(__file__).resolve().parent.parent
READ = re.compile(r"config(?:\[|\.get\()[\"']([A-Z][A-Z0-9_]+)[\"']")
FROM_ENV = re.compile(r"env\.get\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']")


def test_every_setting_read_is_declared(tmp_path):
    declared = set(vars(Config(str(tmp_path))))
    read = {
        name
        for path in (ROOT / "matchmaker").rglob("*.py")
        for name in READ.findall(path.read_text(encoding="utf-8"))
    }
    assert read, "the pattern finds the settings"
    assert read - declared == set()


def test_every_environment_variable_is_in_the_readme():
    names = set(FROM_ENV.findall((ROOT / "matchmaker" / "config.py").read_text(encoding="utf-8")))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert names - {name for name in names if f"`{name}`" in readme} == set()


def gunicorn_settings(monkeypatch, **env) -> dict:
    """Read gunicorn.conf.py as gunicorn does (a module's names) under the given environment."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_access_log_to_stdout_by_default(monkeypatch):
    monkeypatch.delenv("GUNICORN_ACCESSLOG", raising=False)
    assert gunicorn_settings(monkeypatch)["accesslog"] == "-"


@pytest.mark.parametrize("value", ["off", os.devnull])
def test_gunicorn_access_log_off_formats_no_lines(monkeypatch, value):
    # None: gunicorn formats no access line at all (for /dev/null it formatted each one)
    assert gunicorn_settings(monkeypatch, GUNICORN_ACCESSLOG=value)["accesslog"] is None


def test_gunicorn_access_log_to_a_file(monkeypatch, tmp_path):
    path = str(tmp_path / "access.log")
    assert gunicorn_settings(monkeypatch, GUNICORN_ACCESSLOG=path)["accesslog"] == path
