"""./dev picks a Python interpreter of version 3.11 or newer."""

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
