"""G.711 (ITU-T G.711) u-law and A-law, vectorised with numpy.

Both laws are exhaustive lookup tables built once at import: 256 entries to decode, 65,536 (one
per 16-bit sample) to encode, so encoding and decoding are a single indexing operation each.

What a caller may rely on:

- `*_decode(bytes) -> np.ndarray[int16]`, one sample per byte; `*_encode(int16 array) -> bytes`,
  one byte per sample. Encoding takes a 1-D int16 array (any other dtype raises `TypeError`).
- decode then encode gives back every code except u-law 0x7F ("negative zero"), which decodes to
  0 and comes back as 0xFF. Every A-law code is canonical.
- encode then decode is within half a quantisation step: at most 4 << segment for u-law (plus
  the clipping of |x| > 32,124), at most 8 << max(segment - 1, 0) for A-law.
"""

from __future__ import annotations

import numpy as np

# u-law (G.711 table 2a, in the 16-bit form of the reference implementation): samples are
# biased by 0x84 so that every segment starts at a power of two; magnitudes above CLIP saturate.
_ULAW_BIAS = 0x84
_ULAW_CLIP = 32_635

# A-law (G.711 table 1a): even bits are inverted on the line (the 0x55 mask).
_ALAW_MASK = 0x55


def _build_ulaw_decode() -> np.ndarray:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def _build_ulaw_encode() -> np.ndarray:
    sample = np.arange(-32_768, 32_768, dtype=np.int32)
    sign = np.where(sample < 0, 0x80, 0)
    biased = np.minimum(np.abs(sample), _ULAW_CLIP) + _ULAW_BIAS
    # The segment is the position of the highest set bit above bit 7 (biased is < 2**15).
    exponent = np.clip(np.floor(np.log2(biased)).astype(np.int32) - 7, 0, 7)
    mantissa = (biased >> (exponent + 3)) & 0x0F
    code = ~(sign | (exponent << 4) | mantissa) & 0xFF
    return _indexed_by_uint16(code)


def _build_alaw_decode() -> np.ndarray:
    code = np.arange(256, dtype=np.int32) ^ _ALAW_MASK
    segment = (code & 0x70) >> 4
    mantissa = (code & 0x0F) << 4
    magnitude = np.where(
        segment == 0,
        mantissa + 8,
        (mantissa + 0x108) << np.maximum(segment - 1, 0),
    )
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


def _build_alaw_encode() -> np.ndarray:
    sample = np.arange(-32_768, 32_768, dtype=np.int32) >> 3  # 13-bit linear
    positive = sample >= 0
    mask = np.where(positive, 0xD5, _ALAW_MASK)
    magnitude = np.where(positive, sample, -sample - 1)  # 0 .. 4095
    # Segment boundaries 0x1F, 0x3F, 0x7F ... 0xFFF: segment = highest bit above bit 4.
    segment = np.clip(np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int32) - 4, 0, 7)
    shift = np.where(segment < 2, 1, segment)
    code = (segment << 4) | ((magnitude >> shift) & 0x0F)
    return _indexed_by_uint16(code ^ mask)


def _indexed_by_uint16(codes_from_min: np.ndarray) -> np.ndarray:
    """Reorder a table built for samples -32768..32767 so an int16 viewed as uint16 indexes it."""
    return np.roll(codes_from_min.astype(np.uint8), -32_768)


_ULAW_DECODE = _build_ulaw_decode()
_ULAW_ENCODE = _build_ulaw_encode()
_ALAW_DECODE = _build_alaw_decode()
_ALAW_ENCODE = _build_alaw_encode()
for _table in (_ULAW_DECODE, _ULAW_ENCODE, _ALAW_DECODE, _ALAW_ENCODE):
    _table.flags.writeable = False


def ulaw_decode(data: bytes) -> np.ndarray:
    """G.711 u-law bytes to int16 samples (a new array)."""
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def ulaw_encode(samples: np.ndarray) -> bytes:
    """int16 samples to G.711 u-law bytes."""
    return _ULAW_ENCODE[_as_uint16(samples)].tobytes()


def alaw_decode(data: bytes) -> np.ndarray:
    """G.711 A-law bytes to int16 samples (a new array)."""
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def alaw_encode(samples: np.ndarray) -> bytes:
    """int16 samples to G.711 A-law bytes."""
    return _ALAW_ENCODE[_as_uint16(samples)].tobytes()


def _as_uint16(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples)
    if samples.dtype != np.int16:
        raise TypeError(f"G.711 encodes int16 samples, not {samples.dtype}")
    if samples.ndim != 1:
        raise ValueError("G.711 encodes a 1-D array of samples")
    return samples.view(np.uint16)
