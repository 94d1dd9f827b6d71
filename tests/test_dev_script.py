"""./dev picks a Python interpreter of version 3.11 or newer; ./dev start shares login limits."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

DEV = Path(__file__).resolve().parents[1] / "dev"
REAL_PYTHON = sys.executable


def fake_python(directory: Path, name: str, version: tuple[int, int]) -> None:
    """Write an interpreter that runs the real one but reports another version."""
    path = directory / name
    path.write_text(
        "#!/bin/sh\n"
        f'exec {REAL_PYTHON} -c "import sys; sys.version_info = {(*version, 0)!r}; '
        'exec(sys.argv[2])" "$@"\n'
    )
    path.chmod(0o755)


def find_python(directory: Path, python: str = "") -> subprocess.CompletedProcess:
    """Run the script's find_python with only the fake interpreters on the PATH."""
    text = DEV.read_text()
    start = text.index("find_python() {")
    function = text[start : text.index("\n}\n", start) + 3]
    # the script's own function, run by bash with stand-in interpreters
    return subprocess.run(  # noqa: S603
        ["/bin/bash", "-c", function + "find_python"],
        capture_output=True,
        text=True,
        env={"PATH": str(directory), "PYTHON": python},
        check=False,
    )


@pytest.mark.parametrize(
    ("installed", "chosen"),
    [
        ({"python3.13": (3, 13), "python3.12": (3, 12), "python3": (3, 13)}, "python3.13"),
        ({"python3.12": (3, 12), "python3.11": (3, 11)}, "python3.12"),
        ({"python3.11": (3, 11), "python3": (3, 14)}, "python3.11"),
        ({"python3": (3, 14)}, "python3"),
    ],
)
def test_newest_supported_interpreter_is_chosen(tmp_path, installed, chosen):
    for name, version in installed.items():
        fake_python(tmp_path, name, version)
    result = find_python(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == chosen


def test_too_old_interpreters_are_refused(tmp_path):
    fake_python(tmp_path, "python3.13", (3, 10))
    fake_python(tmp_path, "python3", (3, 10))
    result = find_python(tmp_path)
    assert result.returncode == 1
    assert "Python 3.11 or newer is needed" in result.stderr


def test_python_variable_wins(tmp_path):
    fake_python(tmp_path, "python3.13", (3, 13))
    fake_python(tmp_path, "mypython", (3, 12))
    assert find_python(tmp_path, python="mypython").stdout.strip() == "mypython"


def test_start_shares_the_login_limits_of_its_workers_in_redis(tmp_path):
    """``./dev start`` runs several gunicorn workers: their login limits must be one count."""
    venv = tmp_path / "venv"
    bin_dir = venv / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(REAL_PYTHON)
    requirements = b"".join(p.read_bytes() for p in sorted(DEV.parent.glob("requirements*.txt")))
    digest = hashlib.sha256(requirements).hexdigest()[:16]
    (venv / f".installed-{digest}-requirements.txt").touch()
    seen = tmp_path / "seen"
    for name in ("flask", "gunicorn", "pybabel"):
        # stand-ins that write down the limiter storage they were started with
        script = bin_dir / name
        script.write_text(
            f'#!/bin/sh\necho "{name} $RATELIMIT_STORAGE_URI" >> {seen}\n'
            # the job worker runs until ./dev stops it
            'case "$*" in *"jobs worker"*) exec sleep 60;; esac\n'
        )
        script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "RATELIMIT_STORAGE_URI"}
    result = subprocess.run(  # noqa: S603
        [str(DEV), "start"],
        capture_output=True,
        text=True,
        env={**env, "VENV": str(venv)},
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = seen.read_text().splitlines()
    served = [line for line in lines if line.startswith("gunicorn ")]
    assert served == ["gunicorn redis://127.0.0.1:6379/0"]
