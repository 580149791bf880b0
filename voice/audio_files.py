"""Reading audio files for the operator commands: PCM WAV at any rate, or headerless 8 kHz μ-law."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from voice.codecs import ulaw_to_pcm16


class AudioFileError(ValueError):
    """The file is missing, unreadable, or not audio this reader understands."""


def read_wav_pcm16(path: Path) -> tuple[bytes, int]:
    """16-bit mono PCM and its rate; stereo is averaged to mono."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except FileNotFoundError as exc:
        raise AudioFileError(f"{path}: no such file") from exc
    except (wave.Error, EOFError) as exc:
        raise AudioFileError(f"{path}: not a PCM WAV file ({exc})") from exc
    if width != 2:
        raise AudioFileError(f"{path}: {8 * width}-bit samples; only 16-bit PCM WAV is read")
    if rate <= 0 or channels <= 0:
        raise AudioFileError(f"{path}: invalid header ({channels} channels at {rate} Hz)")
    if channels > 1:
        samples = np.frombuffer(frames[: len(frames) - len(frames) % (2 * channels)], dtype="<i2")
        frames = samples.reshape(-1, channels).mean(axis=1).astype("<i2").tobytes()
    return frames, rate


def read_raw_ulaw(path: Path) -> bytes:
    try:
        return ulaw_to_pcm16(path.read_bytes())
    except FileNotFoundError as exc:
        raise AudioFileError(f"{path}: no such file") from exc
