"""The lender's payments API (ledger.payments): report a payment, read one back.

    POST /api/payments      {"payment_id", "account_id", "amount_cents", "currency", "paid_at"}
    GET  /api/payments/{payment_id}

Every request carries the lender's key as `Authorization: Bearer <key>` (bot.lender_key); without it, or with a
wrong one, 401 before the body is read. amount_cents is a JSON integer (no floats, no strings: money is never
rounded here); paid_at is ISO 8601 with its UTC offset. 201 with the allocation for a new payment; 200 with the
same body when the payment id was already recorded with the same content (a retry is safe); 409
payment_conflict when it was recorded with other content; 404 unknown_account; 422 for a malformed body, a
currency other than the account's or a paid_at in the future. Bodies are capped by bot.body_limit (413).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from bot.dependencies import Services
from bot.key_files import presented_secret
from ledger.errors import NotFound, PolicyViolation
from ledger.payments import CURRENCY, MAX_PAYMENT_CENTS, PAYMENT_ID, PaymentConflict
from ledger.views import PaymentView

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/payments")


class ReportedPayment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_id: StrictStr = Field(pattern=PAYMENT_ID.pattern)
    account_id: StrictStr = Field(min_length=1, max_length=32)
    amount_cents: StrictInt = Field(gt=0, le=MAX_PAYMENT_CENTS)
    currency: StrictStr = Field(pattern=CURRENCY.pattern)
    paid_at: AwareDatetime

    @field_validator("paid_at", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        # pydantic would also read a number as a Unix time; the API promises ISO 8601 with an offset only.
        if not isinstance(value, str):
            raise ValueError("paid_at is an ISO 8601 string with its UTC offset, e.g. 2026-11-23T14:05:00+08:00")
        return value


def payment_json(payment: PaymentView) -> dict[str, Any]:
    return {
        "payment_id": payment.payment_id,
        "account_id": payment.account_id,
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
        "paid_at": payment.paid_at.isoformat(),
        "received_at": payment.received_at.isoformat(),
        "source": payment.source,
        "applied_cents": payment.applied_cents,
        "credit_cents": payment.credit_cents,
        "balance_after_cents": payment.balance_after_cents,
        "allocation": [{"component": component, "amount_cents": cents} for component, cents in payment.components],
        "instalments": [{"plan_id": share.plan_id, "seq": share.seq, "due_date": share.due_date.isoformat(),
                         "amount_cents": share.amount_cents} for share in payment.instalments],
    }


def _error(status: int, code: str, detail: str = "") -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def _refused_key(request: Request, services: Services) -> JSONResponse | None:
    if services.lender_key.admits(presented_secret(request)):
        return None
    return _error(401, "invalid_api_key", "send the lender's payments key as Authorization: Bearer")


@router.post("", status_code=201, response_model=None)
async def report_payment(request: Request, services: Services) -> JSONResponse:
    refused = _refused_key(request, services)
    if refused is not None:
        return refused
    try:
        # Parsed here, after the key: an unauthenticated caller learns nothing about what a valid body is.
        reported = ReportedPayment.model_validate_json(await request.body())
    except ValidationError as error:
        raise RequestValidationError(error.errors()) from None
    try:
        outcome = await asyncio.to_thread(
            services.payments.record, reported.payment_id, reported.account_id, reported.amount_cents,
            reported.currency, reported.paid_at, "api")
    except NotFound:
        return _error(404, "unknown_account")
    except PaymentConflict:
        return _error(409, "payment_conflict",
                      "this payment_id is already recorded with a different account, amount, currency or paid_at")
    except PolicyViolation as refusal:
        return _error(422, refusal.code, refusal.message)
    if outcome.created:
        await _place_again(services, outcome.payment)
    return JSONResponse(payment_json(outcome.payment), status_code=201 if outcome.created else 200)


async def _place_again(services, payment: PaymentView) -> None:
    """A payment moves the borrower in the strategy at once (a settled account leaves it). The payment is recorded
    either way: a failure here is logged and the worker's next tick places the borrower."""
    try:
        account = await asyncio.to_thread(services.ledger.get_account, payment.account_id)
        await asyncio.to_thread(services.segmenter.place_after_payments, [(account.borrower_id, payment.payment_id)],
                                services.clock())
    except Exception as error:
        log.warning("payment recorded; placing the borrower again failed: %s", type(error).__name__)


@router.get("/{payment_id}", response_model=None)
async def read_payment(payment_id: str, request: Request, services: Services) -> JSONResponse:
    refused = _refused_key(request, services)
    if refused is not None:
        return refused
    if not PAYMENT_ID.match(payment_id):
        return _error(404, "unknown_payment")
    payment = await asyncio.to_thread(services.payments.get, payment_id)
    if payment is None:
        return _error(404, "unknown_payment")
    return JSONResponse(payment_json(payment))
