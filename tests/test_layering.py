"""The architecture's promises, checked on the source (DESIGN.md, STYLE.md).

- Nothing under appliance/ imports the simulator, SimPy, or (below pbx/ and
  hw/) asyncio, sockets, threads or the time module: the cores are sans-I/O
  and clock-free, so the same code runs in simulated and in real time.
- The cores use no module-level random generator: every random stream is
  handed in.
- The cores do no file or socket I/O: no `open()`, no `os`, `pathlib`, `io`,
  `wave`, `shutil`, `sqlite3` ... and no file calls (`read_bytes()`,
  `fsync()` ...). Files are the drivers' (`appliance/live/`) and the storage's
  (`appliance/storage/`): the cores take a small writer or reader handed in
  (`media.recording.WavStorage`, `media.prompts.SoundSource`,
  `media.plane.RecordingDesk`).
- The records and the storage never import the live driver: reading records or
  mending a recording must not load asyncio drivers and sockets.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPLIANCE = ROOT / "appliance"
CORES = [APPLIANCE / "pbx", APPLIANCE / "hw", APPLIANCE / "media"]
BELOW_LIVE = [APPLIANCE / "records", APPLIANCE / "storage"]
"""Packages the live driver builds on, which must not import it back."""

FORBIDDEN_EVERYWHERE = {"sim", "simpy"}
FORBIDDEN_IN_CORES = FORBIDDEN_EVERYWHERE | {
    "asyncio", "socket", "time", "threading", "selectors", "multiprocessing",
}


FILE_AND_NETWORK_MODULES = {
    "os", "pathlib", "io", "shutil", "tempfile", "glob", "fcntl", "mmap", "wave", "sqlite3",
    "socket", "ssl", "http", "urllib", "subprocess",
}
FILE_CALLS = {
    "open", "fsync", "read_text", "read_bytes", "write_text", "write_bytes", "unlink", "mkdir",
    "rmdir", "touch", "is_file", "is_dir", "iterdir", "rglob", "pwrite", "truncate",
}
"""Called as a bare name (`open(...)`) or, but for `open`, as a method (`path.read_bytes()`):
`open` alone is also a method of the cores' own objects (a relay opens a media session)."""

IO_ALLOWED: dict[str, str] = {}
"""Core files that may do file or socket I/O, by path below the repository, each with the
reason it must stay there. Empty: every core is sans-I/O."""


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def imported_names(path: Path) -> set[str]:
    """Every module `path` imports, by its full dotted name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if p.is_file())


@pytest.mark.parametrize("path", python_files(APPLIANCE), ids=lambda p: str(p.relative_to(ROOT)))
def test_appliance_never_imports_the_simulator(path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN_EVERYWHERE


@pytest.mark.parametrize(
    "path",
    [p for package in BELOW_LIVE for p in python_files(package)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_records_and_storage_never_import_the_live_driver(path: Path) -> None:
    live = {name for name in imported_names(path)
            if name == "appliance.live" or name.startswith("appliance.live.")}
    assert not live, f"{path.name} imports {sorted(live)}"


def test_loading_the_records_loads_no_live_driver() -> None:
    """What the packages import, all the way down: no module of theirs pulls the driver in."""
    probe = (
        "import sys, appliance.records, appliance.records.recovery, appliance.storage.wavfile,"
        " appliance.storage.promptfiles\n"
        "print(sorted(m for m in sys.modules if m.startswith('appliance.live') or m == 'asyncio'))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


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


def io_found(source: str) -> list[str]:
    """What in `source` imports an I/O module or calls a file function, one line each."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if node.level == 0 else [])
            found += [f"{node.lineno}: import {name}" for name in names
                      if name.split(".")[0] in FILE_AND_NETWORK_MODULES]
        elif isinstance(node, ast.Call) and _file_call(node.func):
            found.append(f"{node.lineno}: {ast.unparse(node.func)}()")
    return found


def _file_call(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in FILE_CALLS
    return isinstance(func, ast.Attribute) and func.attr in FILE_CALLS - {"open"}


CORE_FILES = [p for core in CORES for p in python_files(core)]


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_cores_do_no_file_or_socket_io(path: Path) -> None:
    name = str(path.relative_to(ROOT))
    found = io_found(path.read_text(encoding="utf-8"))
    if name in IO_ALLOWED:
        assert found, f"{name} is allowed I/O it no longer does: drop it from IO_ALLOWED"
    else:
        assert not found, f"{name} does I/O in a core: {found}"


def test_the_io_scan_sees_files_and_sockets() -> None:
    source = (
        "import os\nfrom pathlib import Path\nimport socket as s\nfrom io import BytesIO\n"
        "f = open('x')\nPath('y').read_bytes()\nos.fsync(3)\n"
        "self.relay.open(1, 0.0)\nfrom .recording import read_format\n"
    )
    assert io_found(source) == [
        "1: import os", "2: import pathlib", "3: import socket", "4: import io",
        "5: open()", "6: Path('y').read_bytes()", "7: os.fsync()",
    ]
    assert all(reason.strip() for reason in IO_ALLOWED.values())


def test_the_scan_sees_the_cores() -> None:
    """Guard against the checks above passing because they found no files."""
    files = [p.name for core in CORES for p in python_files(core)]
    assert "callcontrol.py" in files and "core.py" in files and "recording.py" in files
    assert "time" in imported_modules(ROOT / "sim" / "bench.py")
    below = [p.name for package in BELOW_LIVE for p in python_files(package)]
    assert "recovery.py" in below and "wavfile.py" in below
    assert "appliance.live.serve" in imported_names(APPLIANCE / "live" / "__init__.py")
