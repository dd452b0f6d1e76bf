"""The architecture's promises, checked on the source (DESIGN.md, STYLE.md).

- Nothing under appliance/ imports the simulator, SimPy, or (below pbx/ and
  hw/) asyncio, sockets, threads or the time module: the cores are sans-I/O
  and clock-free, so the same code runs in simulated and in real time.
- The cores use no module-level random generator: every random stream is
  handed in.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPLIANCE = ROOT / "appliance"
CORES = [APPLIANCE / "pbx", APPLIANCE / "hw", APPLIANCE / "media"]

FORBIDDEN_EVERYWHERE = {"sim", "simpy"}
FORBIDDEN_IN_CORES = FORBIDDEN_EVERYWHERE | {
    "asyncio", "socket", "time", "threading", "selectors", "multiprocessing",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if p.is_file())


@pytest.mark.parametrize("path", python_files(APPLIANCE), ids=lambda p: str(p.relative_to(ROOT)))
def test_appliance_never_imports_the_simulator(path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN_EVERYWHERE


@pytest.mark.parametrize(
    "path",
    [p for core in CORES for p in python_files(core)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_cores_do_no_io_and_read_no_clock(path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN_IN_CORES


@pytest.mark.parametrize(
    "path",
    [p for core in CORES for p in python_files(core)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_cores_use_no_module_level_random(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        # `random.random()`, `random.choice(...)`: the shared global generator.
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "random"
        ):
            pytest.fail(f"{path.name}:{node.lineno} calls the module-level random generator")
        if isinstance(node, ast.ImportFrom) and node.module == "random":
            names = {alias.name for alias in node.names}
            assert names <= {"Random"}, f"{path.name} imports {names - {'Random'}} from random"


def test_the_scan_sees_the_cores() -> None:
    """Guard against the checks above passing because they found no files."""
    files = [p.name for core in CORES for p in python_files(core)]
    assert "callcontrol.py" in files and "core.py" in files
    assert "time" in imported_modules(ROOT / "sim" / "bench.py")
