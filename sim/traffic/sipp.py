"""Run SIPp (the Debian package ``sip-tester``) and read back what it counted.

One :class:`SippRun` is one ``sipp`` process on 127.0.0.1: a scenario (a file
from :data:`SCENARIOS` or SIPp's built-in ``uac``/``uas``), a free local port,
a rate, limits and a deadline. Its results come from SIPp's ``-trace_stat``
CSV file, never from its screen.

The rate is changed while SIPp runs through its UDP control port (``-cp``),
with the command ``cset rate N``. That is more robust than typing ``+``/``-``
keys into a pseudo-terminal with pexpect: SIPp repaints its screen into the
terminal every second and stalls once nobody drains it; a key moves the rate
by a step that depends on the current rate, so reaching a figure means reading
the screen back; and a datagram sets the exact rate in one go, from any
thread, with no terminal at all. SIPp binds that port on all interfaces; we
only ever send to it on 127.0.0.1.

Everything SIPp writes (its screen, errors, logs, stats) goes to files in the
run's working directory, so nothing ever blocks on a pipe.
"""

from __future__ import annotations

import csv
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType

from appliance.net import Address

SCENARIOS = Path(__file__).with_name("sipp_scenarios")
"""The scenario files shipped with the package (``caller.xml``, ``agent.xml``...)."""

LOCALHOST = "127.0.0.1"
BUILTIN_SCENARIOS = frozenset({"uac", "uas"})
# After SIGTERM SIPp writes its last statistics and exits within a second or so.
_KILL_GRACE = 5.0
_STAT_FILE = "stat.csv"
_BIND_TRIES = 5
_BIND_WAIT = 2.0  # seconds for SIPp to be set up (it binds its ports first)


class SippNotFound(RuntimeError):
    """The ``sipp`` binary is not installed."""


def find_sipp() -> str:
    """Path of the ``sipp`` binary, or :class:`SippNotFound` saying how to get it."""
    path = shutil.which("sipp")
    if path is None:
        raise SippNotFound(
            "sipp not found: run bin/test (it installs it) or `sudo apt-get install sip-tester`"
        )
    return path


def scenario_path(name: str) -> Path:
    """A shipped scenario by file name, e.g. ``"caller.xml"``."""
    path = SCENARIOS / name
    if not path.is_file():
        raise FileNotFoundError(f"no SIPp scenario {name!r} in {SCENARIOS}")
    return path


def free_udp_port(host: str = LOCALHOST) -> int:
    """A UDP port that was free a moment ago (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def udp_ports_free(start: int, count: int, host: str = LOCALHOST) -> bool:
    """Whether the UDP ports `start` .. `start + count - 1` can all be bound right now."""
    socks: list[socket.socket] = []
    try:
        for port in range(start, start + count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(sock)
            sock.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        for sock in socks:
            sock.close()


def free_udp_block(count: int = 4, host: str = LOCALHOST) -> int:
    """An even port starting `count` consecutive UDP ports that were all free a moment ago.

    SIPp binds its media sockets at -mp and the ports after it (6000 by default): SIPp runs
    side by side would collide there.
    """
    for _ in range(100):
        start = free_udp_port(host) & ~1
        if udp_ports_free(start, count, host):
            return start
    raise OSError(f"no block of {count} free UDP ports found")


@dataclass(frozen=True)
class SippResult:
    """What one SIPp run counted (cumulative figures of its last stat line).

    ``failures`` maps SIPp's failure reasons (its ``Failed...`` columns without
    the prefix, e.g. ``"MaxUDPRetrans"``, ``"CallRejected"``) to non-zero counts.
    Times are in seconds; ``response_time`` is the mean of SIPp's
    ResponseTime1 (as the scenario's ``rtd`` marks define it).
    """

    successful: int
    failed: int
    total: int
    elapsed: float
    response_time: float
    call_length: float
    failures: Mapping[str, int]
    retransmissions: int
    target_rate: float
    exit_code: int | None
    timed_out: bool
    workdir: Path
    counts: Mapping[str, int] = field(default_factory=dict)
    """SIPp's ``-trace_counts`` columns (e.g. ``"0_INVITE_Sent"``, ``"4_503_Recv"``), in the
    scenario's order: how often each message of the scenario was sent or received."""

    @property
    def ok(self) -> bool:
        """Every call that was placed succeeded, and SIPp ended on its own."""
        return self.failed == 0 and self.successful > 0 and not self.timed_out

    @property
    def failure_ratio(self) -> float:
        done = self.successful + self.failed
        return self.failed / done if done else 0.0


@dataclass
class SippConfig:
    """The command line of one SIPp run (see ``sipp -h`` for each option).

    ``scenario`` is a file path or a built-in name (``"uac"``, ``"uas"``);
    ``remote`` is ``(host, port)``, None for a UAS that only answers.
    ``variables`` become ``-set`` (scenario globals such as ``ring_ms``),
    ``keys`` become ``-key`` ([keyword] values), ``injection`` is a ``-inf`` file.
    """

    scenario: str | Path
    remote: Address | None = None
    local_port: int | None = None
    rate: float = 10.0
    call_limit: int | None = None
    max_calls: int | None = None
    duration_ms: int | None = None
    service: str | None = None
    recv_timeout_ms: int | None = None
    buff_size: int | None = None
    variables: Mapping[str, str | int | float] = field(default_factory=dict)
    keys: Mapping[str, str | int | float] = field(default_factory=dict)
    injection: Path | None = None
    extra_args: Sequence[str] = ()


def _is_builtin(scenario: str | Path) -> bool:
    return isinstance(scenario, str) and scenario in BUILTIN_SCENARIOS


def _scenario_args(scenario: str | Path) -> list[str]:
    if _is_builtin(scenario):
        return ["-sn", scenario]
    return ["-sf", str(scenario)]


def _optional_args(config: SippConfig) -> list[str]:
    pairs = [
        ("-l", config.call_limit),
        ("-m", config.max_calls),
        ("-d", config.duration_ms),
        ("-s", config.service),
        ("-recv_timeout", config.recv_timeout_ms),
        ("-buff_size", config.buff_size),
        ("-inf", config.injection),
    ]
    return [arg for flag, value in pairs if value is not None for arg in (flag, str(value))]


def _mapping_args(flag: str, values: Mapping[str, str | int | float]) -> list[str]:
    return [arg for name, value in values.items() for arg in (flag, name, str(value))]


def _trace_args(workdir: Path) -> list[str]:
    return [
        "-trace_stat", "-stf", str(workdir / _STAT_FILE), "-fd", "1", "-trace_counts",
        "-trace_err", "-error_file", str(workdir / "errors.log"),
        "-trace_logs", "-log_file", str(workdir / "logs.log"),
        "-trace_screen", "-screen_file", str(workdir / "screen_final.log"),
    ]  # fmt: skip


def build_command(
    config: SippConfig, sipp: str, local_port: int, control_port: int, workdir: Path
) -> list[str]:
    """The full ``sipp`` argument list for ``config``.

    For a scenario file the ``-key`` options come first: SIPp loads the file as soon as it reads
    ``-sf`` and resolves keyword attributes such as ``play_pcap_audio="[pcap]"`` right then.
    """
    keys_first = not _is_builtin(config.scenario)
    command = [sipp]
    if keys_first:
        command += _mapping_args("-key", config.keys)
    command += _scenario_args(config.scenario)
    if config.remote is not None:
        command.append(f"{config.remote[0]}:{config.remote[1]}")
    command += ["-i", LOCALHOST, "-p", str(local_port), "-cp", str(control_port)]
    if "-mp" not in config.extra_args:
        command += ["-mp", str(free_udp_block())]
    command += ["-r", _rate_text(config.rate), "-nostdin"]
    command += _optional_args(config)
    command += _mapping_args("-set", config.variables)
    if not keys_first:
        command += _mapping_args("-key", config.keys)
    command += _trace_args(workdir)
    return [*command, *config.extra_args]


def _rate_text(rate: float) -> str:
    return f"{rate:g}"


def parse_sipp_time(text: str) -> float:
    """Seconds in a SIPp duration: ``HH:MM:SS:microseconds`` or ``HH:MM:SS``."""
    parts = text.strip().split(":")
    if len(parts) < 3 or not all(part.isdigit() for part in parts):
        return 0.0
    hours, minutes, seconds = (int(part) for part in parts[:3])
    micros = int(parts[3]) if len(parts) > 3 else 0
    return hours * 3600 + minutes * 60 + seconds + micros / 1e6


def _epoch(stamp: str) -> float:
    # "2026-11-23<TAB>22:58:52.187304<TAB>1795474732.187304": the last field is epoch.
    return float(stamp.split("\t")[-1])


def read_stat_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a ``-trace_stat`` file, keyed by its header."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    if len(rows) < 2:
        return []
    header = rows[0]
    return [dict(zip(header, row, strict=False)) for row in rows[1:] if len(row) >= len(header) - 1]


def _is_failure_reason(column: str) -> bool:
    return column.startswith("Failed") and column.endswith("(C)") and column != "FailedCall(C)"


def _failures(row: Mapping[str, str]) -> dict[str, int]:
    return {
        column.removeprefix("Failed").removesuffix("(C)"): int(value)
        for column, value in row.items()
        if _is_failure_reason(column) and value.isdigit() and int(value)
    }


def _count(row: Mapping[str, str], column: str) -> int:
    value = row.get(column, "")
    return int(value) if value.isdigit() else 0


def result_from_row(
    row: Mapping[str, str], exit_code: int | None, timed_out: bool, workdir: Path
) -> SippResult:
    """A :class:`SippResult` from the last (cumulative) stat line."""
    return SippResult(
        successful=_count(row, "SuccessfulCall(C)"),
        failed=_count(row, "FailedCall(C)"),
        total=_count(row, "TotalCallCreated"),
        elapsed=max(0.0, _epoch(row["CurrentTime"]) - _epoch(row["StartTime"])),
        response_time=parse_sipp_time(row.get("ResponseTime1(C)", "")),
        call_length=parse_sipp_time(row.get("CallLength(C)", "")),
        failures=_failures(row),
        retransmissions=_count(row, "Retransmissions(C)"),
        target_rate=float(row.get("TargetRate") or 0.0),
        exit_code=exit_code,
        timed_out=timed_out,
        workdir=workdir,
    )


def read_counts(workdir: Path) -> dict[str, int]:
    """The last line of the ``-trace_counts`` file SIPp wrote in `workdir`, in column order;
    empty if there is none."""
    files = sorted(workdir.glob("*_counts.csv"))
    if not files:
        return {}
    with files[-1].open(newline="") as handle:
        rows = [row for row in csv.reader(handle, delimiter=";") if row]
    if len(rows) < 2:
        return {}
    return {name: int(value) for name, value in zip(rows[0], rows[-1], strict=False)
            if name and value.isdigit() and name not in ("CurrentTime", "ElapsedTime")}


@dataclass(frozen=True)
class InviteOutcomes:
    """What became of the calls a caller scenario placed, by their INVITE's final response."""

    sent: int
    answered: int  # a 2xx
    refused: int  # any other final response (503 and the like)

    @property
    def without_final(self) -> int:
        """INVITEs that never got a final response."""
        return max(0, self.sent - self.answered - self.refused)


def invite_outcomes(counts: Mapping[str, int]) -> InviteOutcomes:
    """Read from `counts` (of a scenario that opens with an INVITE, then receives its
    responses before it sends anything else) how many INVITEs got which final response."""
    sent = answered = refused = 0
    started = False
    for name, value in counts.items():
        index, _, rest = name.partition("_")
        message, _, what = rest.rpartition("_")
        if not started:
            if (message, what) == ("INVITE", "Sent"):
                sent, started = value, True
            continue
        if what == "Sent" or not index.isdigit():
            break
        if what == "Recv" and message.isdigit() and int(message) >= 200:
            if int(message) < 300:
                answered += value
            else:
                refused += value
    return InviteOutcomes(sent, answered, refused)


def _empty_result(exit_code: int | None, timed_out: bool, workdir: Path) -> SippResult:
    return SippResult(0, 0, 0, 0.0, 0.0, 0.0, {}, 0, 0.0, exit_code, timed_out, workdir)


class SippError(RuntimeError):
    """SIPp refused to run (bad scenario, port in use...); the message has its errors."""


class SippRun:
    """One ``sipp`` process: start it, steer its rate, stop it, read its counts.

    ``timeout`` (seconds from start) bounds the run: past it the process is
    sent SIGTERM (SIPp then writes its final statistics) and, if still alive
    after a grace period, SIGKILL, both by its PID; the result is marked
    ``timed_out``. Use it as a context manager so that it never outlives its
    caller. Without ``workdir`` a fresh temporary directory is used and kept
    for inspection (its path is in the result).
    """

    def __init__(
        self, config: SippConfig, *, timeout: float = 60.0, workdir: Path | None = None
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.local_port = config.local_port or free_udp_port()
        self.control_port = free_udp_port()
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="ccbox-sipp-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._deadline = 0.0
        self._timed_out = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def address(self) -> Address:
        """Where this SIPp listens (for the peer's ``remote``)."""
        return (LOCALHOST, self.local_port)

    def command(self) -> list[str]:
        return build_command(
            self.config, find_sipp(), self.local_port, self.control_port, self.workdir
        )

    def start(self) -> SippRun:
        """Start SIPp; a run already started is left as it is (so `with run.start():` and
        `with run:` both mean one SIPp)."""
        if self._process is not None:
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        for _ in range(_BIND_TRIES):
            self._spawn()
            if not self._lost_a_port():
                break
            # A port free a moment ago was taken meanwhile (another run's pick): new ones.
            self.local_port = self.config.local_port or free_udp_port()
            self.control_port = free_udp_port()
        self._deadline = time.monotonic() + self.timeout
        return self

    def _spawn(self) -> None:
        for stale in (_STAT_FILE, "errors.log"):
            (self.workdir / stale).unlink(missing_ok=True)
        with (self.workdir / "screen.log").open("wb") as screen:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=screen,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )

    def _lost_a_port(self) -> bool:
        """Whether SIPp exited at start because one of its ports was in use: it writes its
        first statistics once set up (or on such an exit), bounded by `_BIND_WAIT`."""
        stop_at = time.monotonic() + _BIND_WAIT
        while time.monotonic() < stop_at and not read_stat_rows(self.workdir / _STAT_FILE):
            if not self.running():
                break
            time.sleep(0.01)
        errors = self.workdir / "errors.log"
        return (not self.running() and errors.exists()
                and "Address already in use" in errors.read_text(errors="replace"))

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait_started(self, within: float = 5.0) -> None:
        """Return once SIPp has written its first statistics (it is set up and
        its port is bound), or after ``within`` seconds.

        Raises :class:`SippError` if it exited first, e.g. on a scenario error.
        """
        stop_at = time.monotonic() + min(within, self.timeout)
        while time.monotonic() < stop_at:
            if not self.running():
                raise SippError(self._failure_text())
            if read_stat_rows(self.workdir / _STAT_FILE):
                return
            time.sleep(0.05)

    def set_rate(self, rate: float) -> None:
        """Set the call rate (calls per second) of a running SIPp."""
        self._control(f"cset rate {_rate_text(rate)}")

    def _control(self, command: str) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(command.encode("ascii"), (LOCALHOST, self.control_port))

    def stop(self) -> None:
        """Ask SIPp to place no new calls and quit once the current ones end."""
        self._signal(signal.SIGUSR1)

    def wait(self) -> SippResult:
        """Wait for SIPp to end (at most until the deadline) and read its counts."""
        if self._process is None:
            raise SippError("SIPp was not started")
        try:
            self._process.wait(max(0.0, self._deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self._timed_out = True
            self.kill()
        return self.result()

    def kill(self) -> None:
        """End SIPp now: SIGTERM (final statistics are written), then SIGKILL."""
        if not self.running():
            return
        self._signal(signal.SIGTERM)
        try:
            self._process.wait(_KILL_GRACE)  # type: ignore[union-attr]
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self._process.wait()  # type: ignore[union-attr]

    def _signal(self, signum: int) -> None:
        if self.running():
            self._process.send_signal(signum)  # type: ignore[union-attr]

    def result(self) -> SippResult:
        exit_code = self._process.returncode if self._process else None
        rows = read_stat_rows(self.workdir / _STAT_FILE)
        if not rows:
            if exit_code not in (None, 0, 1):
                raise SippError(self._failure_text())
            return _empty_result(exit_code, self._timed_out, self.workdir)
        result = result_from_row(rows[-1], exit_code, self._timed_out, self.workdir)
        return replace(result, counts=read_counts(self.workdir))

    def run(self) -> SippResult:
        """Start, wait for the end (or the deadline) and return the counts."""
        self.start()
        return self.wait()

    def _failure_text(self) -> str:
        code = self._process.returncode if self._process else None
        errors = _tail(self.workdir / "errors.log") or _tail(self.workdir / "screen.log")
        return f"sipp exited with code {code}: {errors}"

    def __enter__(self) -> SippRun:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.kill()


def _tail(path: Path, limit: int = 2000) -> str:
    if not path.is_file():
        return ""
    return path.read_text(errors="replace")[-limit:].strip()


def run_sipp(config: SippConfig, *, timeout: float = 60.0) -> SippResult:
    """Run one SIPp to its end (or ``timeout``) and return what it counted."""
    with SippRun(config, timeout=timeout) as run:
        return run.wait()
