"""The import rules of ARCHITECTURE.md: areas import downwards; the pure parts need no web stack.

Read from the source (no app is created): every ``import`` of a ``matchmaker`` module, also inside
functions, is checked against the layer of the importing module.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "matchmaker"

# Lowest first. A module may import modules of its own layer and of the layers below it.
LAYERS = (
    ("matchmaker.config", "matchmaker.extensions", "matchmaker.core", "matchmaker.language"),
    ("matchmaker.mail",),
    ("matchmaker.web",),
    ("matchmaker.accounts",),
    ("matchmaker.directory",),
    ("matchmaker.matching",),
    ("matchmaker.events",),
    ("matchmaker.scheduling",),
    ("matchmaker.jobs",),
    ("matchmaker.privacy", "matchmaker.api"),
    ("matchmaker.cli", "matchmaker.app", "matchmaker.demo"),
)
# Views of any area may use the shared view helpers (they sit above mail, below the areas).
VIEW_HELPERS = "matchmaker.web"
# Pure parts: importable and runnable with Flask and SQLAlchemy absent.
PURE = ("matchmaker.scheduling.solver", "matchmaker.matching.engine", "matchmaker.language")
WEB_STACK = ("flask", "flask_sqlalchemy", "flask_babel", "flask_login", "flask_wtf", "sqlalchemy")


def module_name(path: Path) -> str:
    """Return the dotted name of a module file of the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(name: str) -> int:
    """Return the layer index of a module (its longest matching prefix wins)."""
    if name == "matchmaker":
        return 0  # the package itself imports nothing
    best, found = -1, None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    if found is None:
        raise AssertionError(f"{name} belongs to no layer; add it to LAYERS")
    return found


def is_view(name: str) -> bool:
    """Tell whether a module serves pages (a blueprint's views)."""
    return ".views" in name or name.endswith(".pages")


def imports_of(path: Path) -> list[tuple[str, int, bool]]:
    """Return (imported module, line, inside a function) for every matchmaker import of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = [
        n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    local = {id(n) for f in functions for n in ast.walk(f)}
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from matchmaker.events import queries" imports the module matchmaker.events.queries
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.startswith("matchmaker."):
                found.append((name, node.lineno, id(node) in local))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_and_sit_at_the_top(path):
    source = module_name(path)
    own = layer_of(source)
    problems = []
    for target, line, in_function in imports_of(path):
        if in_function:
            problems.append(f"line {line}: function-local import of {target}")
        if is_view(source) and (target == VIEW_HELPERS or target.startswith(VIEW_HELPERS + ".")):
            continue
        if layer_of(target) > own:
            problems.append(f"line {line}: imports {target}, a layer above {source}")
    assert problems == []


def test_every_area_is_in_a_layer():
    for path in SOURCES:
        layer_of(module_name(path))


def test_pure_parts_import_and_work_without_the_web_stack():
    """Find concepts, fit the engine and solve a small problem with the web stack blocked."""
    problem = Path(__file__).parent / "data" / "schedule" / "small.json"
    script = f"""
import sys
for name in {WEB_STACK!r}:
    sys.modules[name] = None
from matchmaker.language.concepts import packaged_finder
from matchmaker.matching.engine import MatchEngine, Profile
from matchmaker.scheduling.solver import Problem, check, solve
assert packaged_finder().concepts(["vorausschauende", "wartung"]) == {{"predictive_maintenance"}}
engine = MatchEngine().fit([
    Profile(ref="s1", kind="sme", text="Wir suchen KI für die Rechnungsprüfung und Belege."),
    Profile(ref="s2", kind="sme", text="Vorausschauende Wartung unserer Maschinen."),
    Profile(ref="a1", kind="startup", text="KI liest Rechnungen und Belege automatisch."),
    Profile(ref="a2", kind="startup", text="Sensoren und KI für die vorausschauende Wartung."),
])
assert engine.suggest("s1", k=1)[0].ref == "a1", engine.suggest("s1", k=1)
problem = Problem.load({str(problem)!r})
result = solve(problem, seed=0, workers=1)
placed = [{{"id": m.id, "slot": m.slot, "table": m.table}} for m in result.meetings]
assert placed and check(problem, placed) == [], check(problem, placed)
for name in {PURE!r}:
    assert name in sys.modules
assert not any(sys.modules.get(name) for name in {WEB_STACK!r})
print("pure")
"""
    done = subprocess.run(  # noqa: S603 - this interpreter on a fixed script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pure"
