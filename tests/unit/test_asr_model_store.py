"""The embedded Whisper model is assembled once, verified against the pinned checksum, installed atomically."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from voice.asr import AsrModelNotFound, resolve_model_dir
from voice.asr.model_store import (
    EMBEDDED_MODEL_NAME, EMBEDDED_MODEL_SHA256, ModelChecksumError, embedded_source_parts, file_sha256,
    install_embedded_model,
)
from configuration.settings import VoiceSettings


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    first, second = tmp_path / "model.bin.part1", tmp_path / "model.bin.part2"
    first.write_bytes(b"first half of the weights ")
    second.write_bytes(b"second half of the weights")
    return [first, second]


def _sha256(*chunks: bytes) -> str:
    return hashlib.sha256(b"".join(chunks)).hexdigest()


def test_parts_are_joined_verified_and_installed_with_the_tokenizer(tmp_path: Path, parts: list[Path]) -> None:
    expected = _sha256(*(part.read_bytes() for part in parts))
    model_dir = install_embedded_model(tmp_path / "cache", parts=parts, expected_sha256=expected)

    assert model_dir == tmp_path / "cache" / EMBEDDED_MODEL_NAME
    assert (model_dir / "model.bin").read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in model_dir.iterdir()}


def test_checksum_mismatch_is_refused_and_leaves_nothing_half_written(tmp_path: Path, parts: list[Path]) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(ModelChecksumError, match="expected " + EMBEDDED_MODEL_SHA256):
        install_embedded_model(cache, parts=parts)

    assert list(cache.iterdir()) == []  # no model directory, no staging leftovers


def test_a_corrupted_cached_model_is_detected_and_reassembled(tmp_path: Path, parts: list[Path]) -> None:
    expected = _sha256(*(part.read_bytes() for part in parts))
    model_dir = install_embedded_model(tmp_path, parts=parts, expected_sha256=expected)
    (model_dir / "model.bin").write_bytes(b"bit rot")

    install_embedded_model(tmp_path, parts=parts, expected_sha256=expected)

    assert file_sha256(model_dir / "model.bin") == expected


def test_an_installed_model_is_not_rewritten(tmp_path: Path, parts: list[Path]) -> None:
    expected = _sha256(*(part.read_bytes() for part in parts))
    model_dir = install_embedded_model(tmp_path, parts=parts, expected_sha256=expected)
    installed_at = (model_dir / "model.bin").stat().st_mtime_ns

    install_embedded_model(tmp_path, parts=parts, expected_sha256=expected)

    assert (model_dir / "model.bin").stat().st_mtime_ns == installed_at


def test_the_shipped_parts_match_the_pinned_checksum() -> None:
    digest = hashlib.sha256()
    for part in embedded_source_parts():
        digest.update(part.read_bytes())
    assert digest.hexdigest() == EMBEDDED_MODEL_SHA256


def test_a_model_setting_that_names_nothing_on_disk_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AsrModelNotFound, match="COLLECTIONS_VOICE_ASR_MODEL='large-v3'"):
        resolve_model_dir(VoiceSettings(asr_model="large-v3", asr_model_cache=tmp_path))
    with pytest.raises(AsrModelNotFound, match="no CTranslate2 Whisper model"):
        resolve_model_dir(VoiceSettings(asr_model=str(tmp_path / "nowhere")))


def test_a_model_directory_path_is_used_as_given(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"weights")
    assert resolve_model_dir(VoiceSettings(asr_model=str(tmp_path))) == tmp_path
