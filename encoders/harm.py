"""The same recipe for the compliance filter's harm decision: fine-tune the encoder as a binary classifier
(lawful vs any harm category) on the filter's own training rows (compliance_filters.train.training_rows: the corpus
minus its held-out fifth, plus the hand-written supplement; COLD left out), and score the development sets
(recall on lines to block, share of lawful lines blocked) at harm thresholds. The encoder alone, without the
filter's rules. The sealed independent sets are never read.

    .venv/bin/python -m encoders.harm rows --out /tmp/ft/harm_rows.json   # project venv: the filter's loaders
    /tmp/ft-venv/bin/python -m encoders.harm train --rows /tmp/ft/harm_rows.json --freeze 6 --epochs 4 --lr 2e-4 \
        --out /tmp/ft/harm
The current filter's decision per development line, and the encoder beside it and OR-ed with it:
    .venv/bin/python -m encoders.harm filter --out /tmp/ft/filter_dev.json
    /tmp/ft-venv/bin/python -m encoders.harm score --model /tmp/ft/harm --filter /tmp/ft/filter_dev.json
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV_SETS = {name: ROOT / "tests" / "compliance_eval" / f"{name}.tsv"
            for name in ("dev_set", "dev_set_en", "dev_set_en2", "dev_set_3")}
MAX_LENGTH = 96


def dump_rows(out: Path) -> None:
    from compliance_filters.train import training_rows

    rows, _cold = training_rows()
    out.write_text(json.dumps([{"text": r["text"], "harm": int(r["label"] != "ok"), "lang": r["lang"]}
                               for r in rows], ensure_ascii=False))
    print(f"{len(rows)} rows ({sum(r['label'] != 'ok' for r in rows)} harmful) -> {out}")


def dev_rows(name: str) -> list[dict]:
    with DEV_SETS[name].open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def filter_decisions(out: Path) -> None:
    from benchmarks.evaluate_filter import blocked_categories

    out.write_text(json.dumps({name: [bool(blocked_categories(r["text"])) for r in dev_rows(name)]
                               for name in DEV_SETS}))
    print(f"filter decisions -> {out}")


def score(args) -> None:
    import numpy as np
    import torch

    from encoders.finetune import IntentModel, encode_all, predict
    from encoders.tokenizer import E5Tokenizer
    from transformers import BertModel

    torch.set_num_threads(1)
    model = IntentModel(BertModel.from_pretrained(args.base, attn_implementation="eager", add_pooling_layer=False), 2,
                        freeze=12)
    model.load_state_dict(torch.load(args.model / "harm_model.pt"))
    filtered = json.loads(args.filter.read_text())
    tok = E5Tokenizer()
    print(f"{'set':12} {'decision':22} {'recall':>7} {'lawful blocked':>15}")
    for name in DEV_SETS:
        rows = dev_rows(name)
        p = predict(model, encode_all(model, tok, [r["text"] for r in rows], max_length=MAX_LENGTH))[:, 1]
        block = np.array([r["label"] == "block" for r in rows])
        rules = np.array(filtered[name])
        for label, decided in (("current filter", rules), ("encoder >= 0.5", p >= 0.5), ("encoder >= 0.9", p >= 0.9),
                               ("filter OR enc >= 0.5", rules | (p >= 0.5)), ("filter OR enc >= 0.9", rules | (p >= 0.9))):
            print(f"{name:12} {label:22} {decided[block].mean():7.3f} {decided[~block].mean():15.3f}")


def train(args) -> None:
    import numpy as np
    import torch

    from encoders.finetune import encode_all, fit, frozen_model, predict
    from encoders.tokenizer import E5Tokenizer

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    cpu0 = time.process_time()
    rows = json.loads(args.rows.read_text())
    tok = E5Tokenizer()
    model = frozen_model(args.base, 2, args.freeze)
    train_x = encode_all(model, tok, [r["text"] for r in rows], max_length=MAX_LENGTH)
    dev = {name: dev_rows(name) for name in DEV_SETS}
    dev_x = {name: encode_all(model, tok, [r["text"] for r in rs], max_length=MAX_LENGTH) for name, rs in dev.items()}
    print(f"cached {len(train_x)} training rows, cpu {time.process_time() - cpu0:.0f}s", flush=True)
    y = torch.tensor([r["harm"] for r in rows])

    def evaluate() -> dict:
        report = {}
        for name, rs in dev.items():
            p = predict(model, dev_x[name])[:, 1]
            block = np.array([r["label"] == "block" for r in rs])
            report[name] = {f"t{t}": [round(float((p[block] >= t).mean()), 3), round(float((p[~block] >= t).mean()), 3)]
                            for t in (0.3, 0.5, 0.7, 0.9)}
        return {"dev [recall, lawful blocked]": report}

    fit(model, train_x, y, args.epochs, args.lr, args.batch, random.Random(args.seed), evaluate, cpu0)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), args.out / "harm_model.pt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("rows")
    r.add_argument("--out", type=Path, default=Path("/tmp/ft/harm_rows.json"))
    t = sub.add_parser("train")
    t.add_argument("--rows", type=Path, default=Path("/tmp/ft/harm_rows.json"))
    t.add_argument("--base", type=Path, default=Path("/tmp/ft/e5-small-f32"))
    t.add_argument("--freeze", type=int, default=6)
    t.add_argument("--epochs", type=int, default=4)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--out", type=Path)
    f = sub.add_parser("filter")
    f.add_argument("--out", type=Path, default=Path("/tmp/ft/filter_dev.json"))
    c = sub.add_parser("score")
    c.add_argument("--model", type=Path, default=Path("/tmp/ft/harm"))
    c.add_argument("--base", type=Path, default=Path("/tmp/ft/e5-small-f32"))
    c.add_argument("--filter", type=Path, default=Path("/tmp/ft/filter_dev.json"))
    args = parser.parse_args()
    if args.command == "rows":
        dump_rows(args.out)
    elif args.command == "filter":
        filter_decisions(args.out)
    elif args.command == "score":
        score(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
