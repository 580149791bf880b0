"""A one-paragraph Chinese summary of a conversation for the agent who takes it, built only from Rasa's
tracker (intents the borrower expressed, the bot's business actions, the slots now set): deterministic,
no external service, and no amounts or identity details beyond what the account panel already shows."""
from __future__ import annotations

from typing import Any

# What the borrower wanted, in the order it first came up (greetings, yes/no and the like say nothing).
INTENT_LABELS = {
    "ask_balance": "询问欠款金额", "pay_in_full": "表示愿意全额还款", "promise_to_pay": "承诺还款",
    "request_instalment": "申请分期", "request_extension": "申请延期", "request_fee_waiver": "申请减免费用",
    "hardship": "表示经济困难", "dispute": "对欠款提出异议", "already_paid": "表示已经还款",
    "busy_callback": "表示现在不方便、要求回电", "stop_contact": "要求停止联系", "ask_who_are_you": "询问我方身份",
    "ask_how_to_pay": "询问还款方式", "abuse": "情绪激动、出言不逊", "distress": "流露出困境或危机信号",
    "request_human": "要求转人工", "wrong_person": "表示不是本人", "refuse_verification": "拒绝核实身份",
    "out_of_scope": "提到与还款无关的话题",
}
# What the bot did that matters to the agent.
ACTION_LABELS = {
    "action_tell_balance": "告知了欠款金额", "action_record_promise": "记录了还款承诺",
    "action_propose_plan": "提出了分期方案", "action_accept_plan": "确认了分期方案",
    "action_decline_plan": "借款人拒绝了分期方案", "action_request_extension": "处理了延期申请",
    "action_request_fee_waiver": "处理了费用减免申请", "action_record_hardship": "登记了困难情况",
    "action_record_dispute": "登记了异议", "action_record_paid_claim": "登记了已还款核对申请",
    "action_record_callback": "预约了回电", "action_do_not_contact": "登记了停止联系的要求",
    "action_handle_abuse": "提醒对方平和沟通", "action_handle_distress": "暂停催收并安抚",
    "action_request_human": "申请了转人工", "action_default_fallback": "未能理解对方的话",
}


def _ordered_unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [item for item in items if not (item in seen or seen.add(item))]


def summarize(tracker: dict[str, Any]) -> str:
    events = tracker.get("events") or []
    slots = tracker.get("slots") or {}
    intents = _ordered_unique([
        INTENT_LABELS[name] for event in events if event.get("event") == "user"
        for name in [((event.get("parse_data") or {}).get("intent") or {}).get("name")] if name in INTENT_LABELS
    ])
    actions = _ordered_unique([
        ACTION_LABELS[event.get("name")] for event in events
        if event.get("event") == "action" and event.get("name") in ACTION_LABELS
    ])
    turns = sum(  # the gateway's opening intent is not the borrower speaking
        1 for event in events if event.get("event") == "user"
        and ((event.get("parse_data") or {}).get("intent") or {}).get("name") != "start_conversation"
    )
    fallbacks = sum(1 for event in events if event.get("event") == "action" and event.get("name") == "action_default_fallback")

    sentences = [f"借款人共发言{turns}次" if turns else "借款人尚未发言"]
    if slots.get("identity_verified") is True:
        sentences.append("身份已核实")
    elif slots.get("verification_failed") is True:
        sentences.append("身份核实未通过，不得透露任何账户信息")
    else:
        sentences.append("身份尚未核实，不得透露任何账户信息")
    if intents:
        sentences.append("借款人" + "、".join(intents))
    if actions:
        sentences.append("机器人" + "、".join(actions))
    if fallbacks >= 2:
        sentences.append(f"机器人有{fallbacks}次没能理解借款人")
    if slots.get("collection_stopped") is True:
        sentences.append("催收已暂停，请先关心借款人的状况")
    if slots.get("hardship") is True:
        sentences.append("借款人处于困难状况")
    if slots.get("plan_pending") is True:
        sentences.append("有一个分期方案等待借款人确认")
    if slots.get("agreement_reached") is True:
        sentences.append("双方已达成还款安排")
    if slots.get("conversation_ended") is True:
        sentences.append("对话已结束")
    return "，".join(sentences) + "。"
