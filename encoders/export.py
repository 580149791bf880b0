"""Export the fine-tuned intent model (encoders.finetune --out DIR) to ONNX, quantise it (dynamic int8), score both
ONCE on the held-out sets, and time the int8 model on CPU.

    /tmp/ft-venv/bin/python -m encoders.export --model /tmp/ft/intent

Prints only aggregate numbers and per-intent error counts (no held-out lines, no confusions); writes them to
DIR/holdout_score.json. CPU time per sentence: onnxruntime with one thread, time.process_time around each call,
300 training sentences (tokenisation timed separately).
"""
from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np

from encoders.data import holdout_lines, training_lines
from encoders.finetune import FALLBACK, MAX_LENGTH
from encoders.tokenizer import E5Tokenizer


def export(model_dir: Path, base: Path, onnx_path: Path) -> None:
    import torch
    from transformers import BertModel

    from encoders.finetune import IntentModel

    torch.set_num_threads(2)
    labels = json.loads((model_dir / "labels.json").read_text())
    bert = BertModel.from_pretrained(base, attn_implementation="eager", add_pooling_layer=False)
    model = IntentModel(bert, len(labels))
    missing, unexpected = model.load_state_dict(torch.load(model_dir / "intent_model.pt"), strict=False)
    assert not missing and all(k.startswith("bert.pooler") for k in unexpected), (missing, unexpected)
    model.eval()
    ids = torch.tensor([[0, 41, 42, 2], [0, 41, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    torch.onnx.export(model, (ids, mask), str(onnx_path), input_names=["input_ids", "attention_mask"],
                      output_names=["probs"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                                    "probs": {0: "batch"}})


def session(path: Path, threads: int = 1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def probabilities(sess, tok: E5Tokenizer, texts: list[str], batch: int = 32) -> np.ndarray:
    out = []
    for start in range(0, len(texts), batch):
        ids, mask = tok.batch(texts[start:start + batch], MAX_LENGTH)
        out.append(sess.run(["probs"], {"input_ids": ids, "attention_mask": mask})[0])
    return np.concatenate(out)


def score(sess, tok: E5Tokenizer, labels: list[str]) -> dict:
    report = {}
    for lang in ("zh", "en"):
        lines = holdout_lines(lang)
        probs = probabilities(sess, tok, [x.text for x in lines])
        top = probs.argmax(1)
        ok = np.array([labels[t] == x.intent for t, x in zip(top, lines)])
        ranked = np.sort(probs, axis=1)
        sure = ranked[:, -1] >= FALLBACK
        unambiguous = sure & (ranked[:, -1] - ranked[:, -2] >= 0.05)
        errors = Counter(x.intent for x, good in zip(lines, ok) if not good)
        report[lang] = {"n": len(lines), "acc": round(float(ok.mean()), 4),
                        "acc_fallback_0.45": round(float((ok & sure).mean()), 4),
                        "acc_fallback_0.45_ambiguity_0.05": round(float((ok & unambiguous).mean()), 4),
                        "fallback_rate_0.45": round(float(1 - sure.mean()), 4),
                        "errors_per_intent": dict(sorted(errors.items(), key=lambda kv: -kv[1]))}
    return report


def cpu_timing(path: Path, tok: E5Tokenizer, n: int = 300) -> dict:
    sess = session(path, threads=1)
    texts = random.Random(3).sample([x.text for x in training_lines()], n)
    for text in texts[:20]:  # warm-up
        ids, mask = tok.batch([text], MAX_LENGTH)
        sess.run(["probs"], {"input_ids": ids, "attention_mask": mask})
    tok_ms, run_ms = [], []
    for text in texts:
        c0 = time.process_time()
        ids, mask = tok.batch([text], MAX_LENGTH)
        c1 = time.process_time()
        sess.run(["probs"], {"input_ids": ids, "attention_mask": mask})
        c2 = time.process_time()
        tok_ms.append((c1 - c0) * 1000)
        run_ms.append((c2 - c1) * 1000)
    stats = lambda v: {"median": round(float(np.median(v)), 2), "p95": round(float(np.percentile(v, 95)), 2)}
    return {"sentences": n, "onnx_run_cpu_ms": stats(run_ms), "tokenise_cpu_ms": stats(tok_ms),
            "total_cpu_ms": stats(np.add(run_ms, tok_ms))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("/tmp/ft/intent"))
    parser.add_argument("--base", type=Path, default=Path("/tmp/ft/e5-small-f32"))
    parser.add_argument("--skip-export", action="store_true")
    args = parser.parse_args()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32, int8 = args.model / "intent.onnx", args.model / "intent.int8.onnx"
    if not args.skip_export:
        export(args.model, args.base, fp32)
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    labels = json.loads((args.model / "labels.json").read_text())
    tok = E5Tokenizer()
    result = {"onnx_mb": {p.name: round(p.stat().st_size / 1e6, 1) for p in (fp32, int8)}}
    for name, path in (("fp32", fp32), ("int8", int8)):
        result[f"holdout_{name}"] = score(session(path, threads=2), tok, labels)
        print(name, json.dumps(result[f"holdout_{name}"], ensure_ascii=False), flush=True)
    result["cpu_int8"] = cpu_timing(int8, tok)
    result["cpu_fp32"] = cpu_timing(fp32, tok)
    print(json.dumps({k: v for k, v in result.items() if not k.startswith("holdout")}, indent=1))
    (args.model / "holdout_score.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
