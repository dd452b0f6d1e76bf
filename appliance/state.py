"""The state folder: the one place the appliance writes to.

Records, recordings and the default prompts it builds all live under one folder, so that the
box never writes into its own package or into whatever folder it was started from:
`/var/lib/ccbox` when run as root (the image), otherwise the user's data folder
(`$XDG_DATA_HOME/ccbox`, by default `~/.local/share/ccbox`). `--state-dir` or the environment
variable `CCBOX_STATE_DIR` name another.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_ENV = "CCBOX_STATE_DIR"
SYSTEM_STATE_DIR = Path("/var/lib/ccbox")


def default_state_dir() -> Path:
    """`$CCBOX_STATE_DIR`, else /var/lib/ccbox for root, else the user's data folder."""
    named = os.environ.get(STATE_DIR_ENV)
    if named:
        return Path(named)
    if os.geteuid() == 0:
        return SYSTEM_STATE_DIR
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "ccbox"


@dataclass(frozen=True)
class StateFolder:
    """The paths under one state folder. Nothing is created until `make()` is called."""

    root: Path

    @classmethod
    def default(cls) -> StateFolder:
        return cls(default_state_dir())

    @property
    def records(self) -> Path:
        """The SQLite database of the event log and detail records."""
        return self.root / "records.sqlite"

    @property
    def prompts(self) -> Path:
        """Where the default prompt sets and music on hold are built."""
        return self.root / "prompts"

    def resolve(self, setting: str | os.PathLike[str]) -> Path:
        """A folder named in the site file: absolute as given, relative under the state
        folder (never under the folder the appliance happens to be started from)."""
        path = Path(setting).expanduser()
        return path if path.is_absolute() else self.root / path

    def make(self) -> None:
        """Create the folder (and its parents); OSError says why it cannot be."""
        self.root.mkdir(parents=True, exist_ok=True)
