"""Every setting the code reads is declared in config.py; each environment variable documented."""

import re
from pathlib import Path

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
