"""Fine-tune the dequantised multilingual-e5-small (encoders.dequantize) as an intent classifier on data/nlu/ (both
languages together): mean pooling + one linear layer over the 30 intents. The embeddings and the lowest --freeze
layers stay fixed, so their output is computed once per line and cached; only the layers above and the head train.

Choose settings on a fold of the training data (benchmarks.nlu_split's seeded split), accuracy printed per epoch:
    /tmp/ft-venv/bin/python -m encoders.finetune --fold 0 --freeze 6 --epochs 6 --lr 1e-4
Then train the chosen settings on all of data/nlu/:
    /tmp/ft-venv/bin/python -m encoders.finetune --fold -1 --freeze 6 --epochs 6 --lr 1e-4 --out /tmp/ft/intent
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import BertModel

from encoders.data import Line, fold_split, training_lines
from encoders.tokenizer import E5Tokenizer

MAX_LENGTH = 48
FALLBACK = 0.45


class IntentModel(nn.Module):
    """BertModel -> mean pooling over the attention mask -> dropout -> linear -> logits."""

    def __init__(self, bert: BertModel, n_intents: int, freeze: int = 0):
        super().__init__()
        self.bert, self.freeze = bert, freeze
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(bert.config.hidden_size, n_intents)

    @staticmethod
    def additive_mask(mask: torch.Tensor) -> torch.Tensor:
        return (1.0 - mask[:, None, None, :].float()) * -1e4

    def lower(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Hidden states after the frozen layers (embeddings + layers [0, freeze))."""
        x = self.bert.embeddings(input_ids=ids)
        for layer in self.bert.encoder.layer[:self.freeze]:
            x = layer(x, self.additive_mask(mask))
        return x

    def upper(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for layer in self.bert.encoder.layer[self.freeze:]:
            x = layer(x, self.additive_mask(mask))
        m = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1)
        return self.head(self.dropout(pooled))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Intent probabilities (what the ONNX export returns)."""
        return torch.softmax(self.upper(self.lower(input_ids, attention_mask), attention_mask), dim=-1)


def encode_all(model: IntentModel, tok: E5Tokenizer, texts: list[str], batch: int = 64, max_length: int = MAX_LENGTH):
    """Frozen-part output per text, as (hidden [L, H], length) kept unpadded."""
    cache = []
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: list = [None] * len(texts)
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            ids, mask = tok.batch([texts[i] for i in idx], max_length)
            hidden = model.lower(torch.from_numpy(ids), torch.from_numpy(mask))
            for row, i in enumerate(idx):
                n = int(mask[row].sum())
                out[i] = hidden[row, :n].clone()
    return out


def collate(items: list[torch.Tensor]):
    width = max(x.shape[0] for x in items)
    x = torch.zeros(len(items), width, items[0].shape[1])
    mask = torch.zeros(len(items), width, dtype=torch.long)
    for r, item in enumerate(items):
        x[r, :item.shape[0]] = item
        mask[r, :item.shape[0]] = 1
    return x, mask


def batches(n: int, lengths: list[int], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (pools of 16 batches sorted by length)."""
    order = list(range(n))
    rng.shuffle(order)
    out = []
    for p in range(0, n, size * 16):
        pool = sorted(order[p:p + size * 16], key=lambda i: lengths[i])
        out += [pool[b:b + size] for b in range(0, len(pool), size)]
    rng.shuffle(out)
    return out


def predict(model: IntentModel, cached: list[torch.Tensor], batch: int = 128) -> np.ndarray:
    model.eval()
    probs = []
    with torch.no_grad():
        for start in range(0, len(cached), batch):
            x, mask = collate(cached[start:start + batch])
            probs.append(torch.softmax(model.upper(x, mask), dim=-1).numpy())
    return np.concatenate(probs)


def accuracy(lines: list[Line], probs: np.ndarray, labels: list[str]) -> dict:
    """Top-1 accuracy per language, and with top probability < FALLBACK counted as nlu_fallback (wrong)."""
    report = {}
    for lang in ("zh", "en"):
        rows = [i for i, x in enumerate(lines) if x.lang == lang]
        if not rows:
            continue
        top = probs[rows].argmax(1)
        ok = np.array([labels[t] == lines[i].intent for t, i in zip(top, rows)])
        sure = probs[rows].max(1) >= FALLBACK
        report[lang] = {"n": len(rows), "acc": round(float(ok.mean()), 4),
                        "acc_fallback": round(float((ok & sure).mean()), 4)}
    return report


def frozen_model(base: Path, n_labels: int, freeze: int) -> IntentModel:
    """The pretrained encoder with a fresh head; embeddings and the lowest `freeze` layers fixed."""
    model = IntentModel(BertModel.from_pretrained(base, attn_implementation="eager", add_pooling_layer=False),
                        n_labels, freeze)
    for p in model.bert.embeddings.parameters():
        p.requires_grad = False
    for layer in model.bert.encoder.layer[:freeze]:
        for p in layer.parameters():
            p.requires_grad = False
    return model


def fit(model: IntentModel, train_x: list[torch.Tensor], y: torch.Tensor, epochs: int, lr: float, batch: int,
        rng: random.Random, evaluate=lambda: {}, cpu0: float = 0.0) -> list[dict]:
    """AdamW over the trainable layers on cached frozen-part outputs; linear warm-up (1/16) and decay."""
    lengths = [x.shape[0] for x in train_x]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    steps = epochs * ((len(train_x) + batch - 1) // batch)
    warmup = max(1, steps // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup))))
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        total = 0.0
        for idx in batches(len(train_x), lengths, batch, rng):
            x, mask = collate([train_x[i] for i in idx])
            loss = nn.functional.cross_entropy(model.upper(x, mask), y[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(idx)
        entry = {"epoch": epoch, "loss": round(total / len(train_x), 4), "cpu_s": round(time.process_time() - cpu0)}
        entry.update(evaluate())
        history.append(entry)
        print(json.dumps(entry), flush=True)
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, default=Path("/tmp/ft/e5-small-f32"))
    parser.add_argument("--fold", type=int, default=0, help="held-back fold of 5 to score; -1 = train on everything")
    parser.add_argument("--freeze", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; with the cores shared, 2 threads cost 2.5x the CPU per step of 1")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    cpu0 = time.process_time()

    if args.fold >= 0:
        train, held = fold_split(args.fold)
    else:
        train, held = training_lines(), []
    labels = sorted({x.intent for x in training_lines()})
    label_id = {name: i for i, name in enumerate(labels)}
    tok = E5Tokenizer()
    model = frozen_model(args.base, len(labels), args.freeze)

    train_x = encode_all(model, tok, [x.text for x in train])
    held_x = encode_all(model, tok, [x.text for x in held]) if held else []
    print(f"cached frozen part for {len(train_x) + len(held_x)} lines, cpu {time.process_time() - cpu0:.0f}s, "
          f"mean tokens {np.mean([x.shape[0] for x in train_x]):.1f}", flush=True)
    y = torch.tensor([label_id[x.intent] for x in train])
    history = fit(model, train_x, y, args.epochs, args.lr, args.batch, rng,
                  lambda: {"fold": accuracy(held, predict(model, held_x), labels)} if held else {}, cpu0)

    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), args.out / "intent_model.pt")
        (args.out / "labels.json").write_text(json.dumps(labels))
        (args.out / "train_settings.json").write_text(json.dumps(
            {**{k: str(v) for k, v in vars(args).items()}, "history": history}, indent=1))
        print(f"saved -> {args.out}")


if __name__ == "__main__":
    main()
