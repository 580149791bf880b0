"""Checking an agent's draft while it is typed — one job: tell the agent, before sending, which
compliance rule the draft breaks and a lawful wording to use instead.

``POST /api/console/draft-check {"text"}`` (same sign-in as every console endpoint) runs the same
``compliance_filters.check`` the egress runs and answers ``{"allowed", "findings": [{"category",
"rules", "why", "suggestion"}]}``. ``why`` is the compliance officer's description of the category
(rules.yml) and of each rule that fired; ``suggestion`` is the category's safe replacement, the
wording the officer wrote for exactly this situation.

A draft is not an utterance: nothing reaches the borrower, so nothing is audited here. The draft is
checked as if identity were verified: the conversation's real context (and the pre-verification
rule) is applied when the message is sent, by the egress, which still has the last word.
"""
from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from bot.console.agents import Agent
from bot.console.auth import current_agent
from bot.conversations import clean_borrower_text
from bot.dependencies import services_of
from compliance_filters import check
from compliance_filters.check import CLASSIFIER_RULE_PREFIX
from compliance_filters.rules import RuleSet, default_rules
from compliance_filters.verdict import Verdict

DRAFT_CONTEXT = {"identity_verified": True}


class Draft(BaseModel):
    text: Any  # checked by clean_borrower_text: the same limits and error codes as a sent message


def _rule_description(rules: RuleSet, rule_id: str) -> str:
    if rule_id.startswith(CLASSIFIER_RULE_PREFIX):
        return "learned classifier: the wording reads like this category"
    for category in rules.categories.values():
        for rule in category.rules:
            if rule.id == rule_id:
                return rule.description
    return rule_id


def findings(verdict: Verdict, rules: RuleSet) -> list[dict[str, Any]]:
    """One finding per blocked category, in the verdict's order, with the rules that fired for it."""
    rule_category = rules.rule_category()
    out = []
    for name in verdict.categories:
        category = rules.categories[name]
        fired = [r for r in verdict.rules
                 if rule_category.get(r) == name or r == f"{CLASSIFIER_RULE_PREFIX}{name}"]
        out.append({
            "category": name,
            "rules": [{"id": r, "description": _rule_description(rules, r)} for r in fired],
            "why": category.description,
            "suggestion": category.replacement,
        })
    return out


def draft_check_router() -> APIRouter:
    router = APIRouter()

    @router.post("/api/console/draft-check")
    async def draft_check(body: Draft, request: Request, _: Agent = Depends(current_agent)) -> dict[str, Any]:
        max_chars = services_of(request).settings.gateway.max_message_chars
        text = clean_borrower_text(body.text, max_chars)  # InvalidMessage -> 413/422
        verdict = await asyncio.to_thread(check, text, DRAFT_CONTEXT)
        return {"allowed": verdict.allowed, "findings": findings(verdict, default_rules())}

    return router
