"""Fixed bot replies worth pre-rendering: domain.yml responses without slots, or with the lender filled in."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import yaml

from configuration.settings import ROOT

_SLOT = re.compile(r"\{(\w+)\}")
PER_LENDER_SLOT = "lender_name"


def fixed_templates(lender_names: Iterable[str] = (), domain_path: Path = ROOT / "domain.yml") -> list[str]:
    """Every response text the bot speaks verbatim; '{lender_name}' texts once per lender given."""
    domain = yaml.safe_load(domain_path.read_text(encoding="utf-8")) or {}
    lenders = list(dict.fromkeys(lender_names))
    texts: list[str] = []
    for variants in (domain.get("responses") or {}).values():
        for variant in variants or []:
            text = (variant or {}).get("text")
            if not text:
                continue
            slots = set(_SLOT.findall(text))
            if not slots:
                texts.append(text)
            elif slots == {PER_LENDER_SLOT}:
                texts.extend(text.replace("{lender_name}", lender) for lender in lenders)
    return list(dict.fromkeys(texts))
