"""Latency of the outgoing-utterance compliance check over a few thousand mixed utterances.

    .venv/bin/python -m benchmarks.filter_latency [--n 3000] [--rules-only]

Prints p50/p95/p99 in milliseconds (goal: p95 ≤ 2 ms), of wall time and of this thread's CPU time:
on a shared machine (other processes wanting more cores than there are) wall time also counts the
waits for a core, CPU time only the filter's own work."""
from __future__ import annotations

import argparse
import random
import statistics
import time

from compliance_filters import check

_BOT = [
    "您在安信消费金融的借款当前应还12,345.67元（本金11,000元、利息890.67元、逾期费用455元），到期日是11月8日，目前已逾期15天。请问是什么原因导致逾期的呢？",
    "如果您有伤害自己的想法，请立即拨打心理援助热线12356或400-161-9995，紧急情况请拨打120或110。",
    "您可以通过官方App的“我的借款—立即还款”、绑定的银行卡自动扣款，或官方公布的对公账户转账还款。请不要向任何个人账户转账，谨防诈骗。",
    "好的，已记录您的要求，我们将停止主动联系您。",
    "理解您现在心情不好。我们希望和您一起找到解决办法，请您平和地沟通。",
    "已记录您的异议。核实期间我们会暂停催收，并由人工专员在2个工作日内与您联系核实。",
    "我们不会联系您的家人或同事", "有人冒充公安说要抓您，这是诈骗，请报警", "We will never contact your employer.",
]
_BAD = [
    "再不还钱就打死你", "我们会联系你的家人", "我是公安局经侦大队的", "不还钱你就要坐牢", "你是煞笔",
    "电话轰炸你", "把你的照片发到朋友圈", "你可以去借网贷还", "我们知道你孩子在哪上学", "打 * 死 * 你",
    "We will call your employer", "you will be arrested", "you idiot",
]


def corpus(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [rng.choice(_BOT if rng.random() < 0.8 else _BAD) for _ in range(rng.randint(1, 3))]
        out.append("".join(parts))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--rules-only", action="store_true", help="leave the learned classifier out")
    args = parser.parse_args()
    kwargs = {"classifier": None} if args.rules_only else {}
    texts = corpus(args.n)
    context = {"identity_verified": True}
    for text in texts[:50]:  # warm caches: rules, automaton, OpenCC, pypinyin, classifier
        check(text, context, **kwargs)
    wall, cpu = [], []
    blocked = 0
    for text in texts:
        start, start_cpu = time.perf_counter(), time.thread_time()
        verdict = check(text, context, **kwargs)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
        blocked += not verdict.allowed
    print(f"n={len(texts)} blocked={blocked} classifier={'off' if args.rules_only else 'as installed'}")
    for name, timings in (("wall", wall), ("cpu ", cpu)):
        q = statistics.quantiles(timings, n=100)
        print(f"{name}: p50={q[49]:.3f} ms  p95={q[94]:.3f} ms  p99={q[98]:.3f} ms  max={max(timings):.3f} ms")


if __name__ == "__main__":
    main()
