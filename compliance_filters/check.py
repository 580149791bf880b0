"""The outgoing-utterance check. So far it enforces one rule, by context: no debt detail before
right-party verification. The category lexicons, evasion handling and the learned classifier of
the compliance-filter issue plug in here."""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Mapping

from compliance_filters.verdict import Verdict

PRE_VERIFICATION_REPLACEMENT = "为保护您的隐私，在核实您的身份之前，我无法提供任何账户信息。"

# Money stated with a currency word, and words that only appear when talking about a debt.
_MONEY = re.compile(r"(\d[\d,]*(\.\d+)?|[零一二两三四五六七八九十百千万亿]+)\s*(元|块|人民币)")
_DEBT_WORDS = re.compile(r"欠款|欠费|应还|逾期|本金|利息|罚息|滞纳金|违约金|分期|还款计划|到期日|账单金额")


def _discloses_debt(text: str) -> bool:
    normal = unicodedata.normalize("NFKC", text)
    return bool(_MONEY.search(normal) or _DEBT_WORDS.search(normal))


def check(text: str, context: Mapping[str, Any] | None = None) -> Verdict:
    context = context or {}
    if context.get("identity_verified") is not True and _discloses_debt(text):
        return Verdict(
            allowed=False,
            categories=("disclosure_before_verification",),
            rules=("CTX-001-debt-detail-before-verification",),
            replacement=PRE_VERIFICATION_REPLACEMENT,
        )
    return Verdict(allowed=True)
