"""kill -9 under recorded load, again and again: no record and no recording is lost.

One SIPp caller places calls for the whole test through `ccbox serve` (always on the same
port) to SIPp agents, with recording on. The appliance is killed with SIGKILL at seeded random
moments and started again; each start repairs what the killed one left (closes its calls,
mends and attaches recordings, moves aside those of no call). What the caller saw is then
held against the database and the recordings folder:

- every call whose caller got the 200 to its BYE has a finished detail record (not
  `interrupted`);
- every call whose caller got a 200 to its INVITE (answered) has a record that says answered;
- every recording a record names is on disk and reads as a WAV;
- every recording on disk is named by a record, or was moved to `orphans/` and reported.
"""

from __future__ import annotations

import os
import re
import signal
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from random import Random

import pytest

from appliance.events import EndCause
from appliance.records.recovery import ORPHANS
from appliance.records.store import RecordReader
from sim import live
from sim.live import ApplianceProcess, phone_passwords, write_site
from sim.traffic.sipp import SippConfig, SippError, SippRun, free_udp_port, scenario_path

pytestmark = pytest.mark.slow

KILLS = 100
SEED = 13
UP_FOR = (0.4, 1.2)  # seconds of load between a start and the next kill (uniform)
RATE = 6  # calls a second; three agents, and the calls placed while the appliance is down wait
# Calls a kill cut off linger in SIPp until their retransmissions give up (32 s): room for
# them, so that the caller goes on placing new calls.
CALL_LIMIT = 2000
TALK_MS = 100
BOUND = 600.0  # seconds any SIPp may run: the whole test
LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class Figures:
    kills: int
    calls_placed: int
    answered: int
    completed: int
    records: int
    interrupted: int
    completed_without_finished_record: list[int]
    answered_without_answered_record: list[int]
    recordings_named: int
    recordings_lost: list[str]
    recordings_unaccounted: list[str]
    orphans_moved: int
    orphans_reported: int


def logging_caller(folder: Path) -> Path:
    """caller.xml that writes `answered N` when its INVITE gets a 200 and `completed N` when
    its BYE does, N being the call number (the appliance stores it in the ANI, callerN)."""
    text = scenario_path("caller.xml").read_text()
    answered = '<recv response="200" rtd="true" rrs="true" next="answered"/>'
    completed = '<recv response="200" crlf="true" next="end"/>'
    assert answered in text and completed in text
    text = text.replace(answered, answered[:-2] + '>\n    <action><log message="answered '
                        '[call_number]"/></action>\n  </recv>')
    text = text.replace(completed, completed[:-2] + '>\n    <action><log message="completed '
                        '[call_number]"/></action>\n  </recv>')
    path = folder / "caller_logging.xml"
    path.write_text(text)
    return path


class Floor:
    """The appliance on one fixed port, restarted at will; SIPp phones registered anew after
    each start; one SIPp caller throughout."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp
        self.port = free_udp_port()
        self.caller_port = free_udp_port()
        self.config = write_site(tmp / "site.yaml", self.caller_port)
        self.records = tmp / "records.sqlite"
        self.recordings = tmp / "recordings"
        # Always the same SIP port: the caller and the phones keep talking to it.
        monkeypatch.setattr(live, "free_udp_port", lambda: self.port)
        self.starts = 0
        self.box: ApplianceProcess | None = None
        self.agents: SippRun | None = None

    def start(self) -> None:
        self.starts += 1
        self.box = ApplianceProcess(self.config, self.tmp, records=self.records,
                                    log_name=f"appliance-{self.starts}.log")
        for attempt in range(3):
            # SIPp's ports are the kernel's picks of a moment before: another process may
            # have taken one since. The phones then try again from other ports.
            if self._phones_up(f"{self.starts}-{attempt}"):
                return
        raise AssertionError(f"no SIPp phones could register: {self.tmp}")

    def _phones_up(self, name: str) -> bool:
        """Register the phones from a new port and answer calls on it; False if SIPp could
        not start."""
        port = free_udp_port()
        passwords = phone_passwords()
        csv = self.tmp / "phones.csv"
        csv.write_text("SEQUENTIAL\n" + "".join(f"{u};{p}\n" for u, p in passwords.items()))
        config = SippConfig(scenario_path("register.xml"), remote=(LOCALHOST, self.port),
                            local_port=port, rate=100, call_limit=1,
                            max_calls=len(passwords), injection=csv)
        try:
            result = SippRun(config, timeout=30, workdir=self.tmp / f"register-{name}").run()
        except SippError:
            return False
        if result.exit_code not in (0, 1) and result.total == 0:
            return False
        assert result.successful == len(passwords), result
        config = SippConfig(scenario_path("agent.xml"), local_port=port)
        self.agents = SippRun(config, timeout=BOUND, workdir=self.tmp / f"agents-{name}")
        try:
            self.agents.start().wait_started()
        except SippError:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL to the appliance's PID; the phones that registered with it go too."""
        assert self.box is not None and self.agents is not None
        self.box.process.kill()
        self.box.process.wait(10)
        self.box.stop()  # closes its log
        if self.agents.pid is not None:
            os.kill(self.agents.pid, signal.SIGKILL)  # its counts are not needed
        self.agents.kill()

    def stop(self) -> None:
        if self.box is not None:
            assert self.box.stop() == 0, self.box.log()
        if self.agents is not None:
            self.agents.kill()

    def logs(self) -> str:
        return "".join(path.read_text() for path in sorted(self.tmp.glob("appliance-*.log")))


@contextmanager
def caller(floor: Floor) -> Iterator[SippRun]:
    config = SippConfig(logging_caller(floor.tmp), remote=(LOCALHOST, floor.port),
                        local_port=floor.caller_port, rate=RATE, duration_ms=TALK_MS,
                        call_limit=CALL_LIMIT, service="100")
    with SippRun(config, timeout=BOUND, workdir=floor.tmp / "caller") as run:
        yield run


def caller_saw(floor: Floor) -> tuple[set[int], set[int]]:
    """The call numbers the caller saw answered, and those it saw completed."""
    text = (floor.tmp / "caller" / "logs.log").read_text()
    answered = {int(n) for n in re.findall(r"^answered (\d+)$", text, re.MULTILINE)}
    completed = {int(n) for n in re.findall(r"^completed (\d+)$", text, re.MULTILINE)}
    return answered, completed


def readable_wav(path: str) -> bool:
    try:
        with wave.open(path, "rb") as wav:
            wav.getnframes()
    except (OSError, wave.Error, EOFError):
        return False
    return True


def kill_again_and_again(tmp: Path, monkeypatch: pytest.MonkeyPatch, kills: int,
                         seed: int) -> Figures:
    rng = Random(seed)
    floor = Floor(tmp, monkeypatch)
    try:
        with caller(floor) as calls:
            floor.start()
            calls.wait_started()
            for _ in range(kills):
                time.sleep(rng.uniform(*UP_FOR))
                floor.kill()
                floor.start()  # repairs what the killed one left
            time.sleep(2.0)
            calls.stop()  # no new calls; those up end within TALK_MS
            time.sleep(1.0)
            calls.kill()
            placed = calls.result().total
        floor.stop()
    finally:
        if floor.box is not None:
            floor.box.stop()
        if floor.agents is not None:
            floor.agents.kill()
    return tally(floor, kills, placed)


def tally(floor: Floor, kills: int, placed: int) -> Figures:
    answered, completed = caller_saw(floor)
    details = RecordReader(floor.records).calls()
    by_caller = {int(d.ani.removeprefix("caller")): d for d in details}
    finished = {n for n, d in by_caller.items() if d.cause is not EndCause.INTERRUPTED}
    answered_records = {n for n, d in by_caller.items() if d.answered_at is not None}
    named = {str(Path(d.recording).resolve()) for d in details if d.recording}
    on_disk = {str(p.resolve()) for p in floor.recordings.rglob("*.wav")
               if ORPHANS not in p.relative_to(floor.recordings).parts}
    orphans = list((floor.recordings / ORPHANS).rglob("*.wav"))
    logs = floor.logs()
    return Figures(
        kills=kills,
        calls_placed=placed,
        answered=len(answered),
        completed=len(completed),
        records=len(details),
        interrupted=sum(d.cause is EndCause.INTERRUPTED for d in details),
        completed_without_finished_record=sorted(completed - finished),
        answered_without_answered_record=sorted(answered - answered_records),
        recordings_named=len(named),
        recordings_lost=sorted(p for p in named if not readable_wav(p)),
        recordings_unaccounted=sorted(on_disk - named),
        orphans_moved=len(orphans),
        orphans_reported=len(re.findall(r"belongs to no call: moved to", logs)),
    )


def test_a_hundred_kills_under_recorded_load_lose_no_record_and_no_recording(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = kill_again_and_again(tmp_path, monkeypatch, KILLS, SEED)
    print(figures)
    assert figures.answered > KILLS and figures.completed >= KILLS // 2, figures  # real load
    assert figures.completed_without_finished_record == [], figures
    assert figures.answered_without_answered_record == [], figures
    assert figures.recordings_lost == [], figures
    assert figures.recordings_unaccounted == [], figures
    assert figures.orphans_moved == figures.orphans_reported, figures
