"""Every command the README shows runs, as written, from the top of a clone.

The commands are read from the README's indented code blocks at test time, so a command added
there is tested without anyone writing a test for it. Each runs in a scratch folder that looks
like the top of a clone (`bin/` and `appliance/` linked), so what it writes stays there.
`bin/test` is not run from here: it is what runs this.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from sim.live import terminate, wait_until_answering
from sim.traffic.sipp import free_udp_port

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# Seconds each may take on a loaded 2-core machine; the benchmarks measure for minutes.
TIME_LIMIT = {"bench": 900.0, "sweep": 600.0, "size": 600.0, "forecast-history": 600.0}
DEFAULT_TIME_LIMIT = 180.0


def readme_commands() -> list[str]:
    """The command lines of the README's indented code blocks (continuations joined)."""
    commands, pending = [], ""
    for line in README.read_text().splitlines():
        if not line.startswith("    ") and not pending:
            continue
        text = pending + line.strip()
        if text.endswith("\\"):
            pending = text[:-1].rstrip() + " "
            continue
        pending = ""
        if text.startswith("bin/"):
            commands.append(_without_comment(text))
    return commands


def _without_comment(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line)


COMMANDS = readme_commands()


def test_the_readme_shows_the_two_set_up_commands_and_more() -> None:
    assert COMMANDS[:2] == ["bin/ccbox", "bin/test"]
    assert len(COMMANDS) > 10


@pytest.fixture
def clone_top(tmp_path: Path) -> Path:
    """A scratch folder that looks like the top of a clone."""
    for name in ("bin", "appliance"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def _environment(top: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "CCBOX_STATE_DIR": str(top / "state"),
            "COLUMNS": "120"}


@pytest.mark.slow
@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "bin/test"
                                     and not c.startswith("bin/ccbox serve")])
def test_the_readme_command_runs(command: str, clone_top: Path) -> None:
    words = command.split()
    limit = TIME_LIMIT.get(words[1] if len(words) > 1 else "", DEFAULT_TIME_LIMIT)
    stdin = "example-password\n" if " passwd " in f" {command} " else ""
    done = subprocess.run(["bash", "-c", command], cwd=clone_top, env=_environment(clone_top),
                          input=stdin, capture_output=True, text=True, timeout=limit)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.strip() or command.startswith("bin/ccbox prompts"), done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("bin/ccbox serve")])
def test_the_readme_serve_command_answers_and_stops_cleanly(command: str,
                                                            clone_top: Path) -> None:
    # The README's port (5060) may be taken on a test machine: the same line on a free port.
    port = free_udp_port()
    line = re.sub(r"--port \d+", f"--port {port}", command)
    if "--port" not in line:
        line += f" --port {port}"
    log = clone_top / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=clone_top,
                                   env=_environment(clone_top), stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_until_answering(("127.0.0.1", port), process, log.read_text, within=60)
    finally:
        status = terminate(process, 30)
    assert status in (0, -signal.SIGTERM), log.read_text()
    assert "Traceback" not in log.read_text()
