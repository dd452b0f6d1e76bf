"""How much of a recording is voice: what decides whether a voicemail message is kept.

The rule: a message is kept if at least `MIN_VOICED_SECONDS` of it, counted in 20 ms frames,
is louder than `VOICE_DBFS` (RMS). Line noise and comfort noise stay below that; a caller who
says a word or two is above it. A message of silence only (a caller who listened and hung up
without speaking, a fax, a dead line) is discarded.
"""

from __future__ import annotations

import numpy as np

from appliance.media.callrecorder import RecordingSink

FRAME = 160  # 20 ms at 8 kHz
VOICE_DBFS = -40.0
MIN_VOICED_SECONDS = 0.3
_THRESHOLD = 32768 * 10 ** (VOICE_DBFS / 20)


class VoiceMeter:
    """A `RecordingSink` that passes the audio on to `inner` and counts its voiced frames."""

    def __init__(self, inner: RecordingSink) -> None:
        self.inner = inner
        self.voiced_frames = 0
        self._rest = np.zeros(0, dtype=np.int16)

    def write(self, samples: np.ndarray) -> None:
        self.inner.write(samples)
        joined = np.concatenate([self._rest, samples])
        whole = len(joined) // FRAME * FRAME
        frames = joined[:whole].astype(np.float64).reshape(-1, FRAME)
        self._rest = joined[whole:]
        if len(frames):
            rms = np.sqrt(np.mean(frames * frames, axis=1))
            self.voiced_frames += int(np.count_nonzero(rms > _THRESHOLD))

    def close(self) -> None:
        self.inner.close()

    @property
    def voiced_seconds(self) -> float:
        return self.voiced_frames * FRAME / 8000

    @property
    def voiced(self) -> bool:
        """Whether the message is kept (the rule in the module's doc)."""
        return self.voiced_seconds >= MIN_VOICED_SECONDS
