"""`Ledger`: the one way the action server reads and writes the ledger.

Every public method runs in its own transaction and commits before returning, so a Rasa
action that returns has made its write durable. Writes the action server may retry
(promises, claims, handoffs, conversations) are idempotent.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from actions.ledger import policy as policy_rules
from actions.ledger.errors import NotFound, PolicyViolation
from actions.ledger.models import (
    CLAIM_KINDS,
    HANDOFF_STATUSES,
    BorrowerFlag,
    CallbackRequest,
    Claim,
    ContactAttempt,
    ConversationRecord,
    DoNotContact,
    HandoffRequest,
    InstalmentPlan,
    InstalmentPlanItem,
    LoanAccount,
    PromiseToPay,
    utc_now,
)
from actions.ledger.models import Borrower as BorrowerRow
from actions.ledger.plans import build_schedule
from actions.ledger.policy import CollectionPolicy, ExtensionDecision, WaiverDecision
from actions.ledger.views import (
    AccountView,
    BorrowerFlagView,
    BorrowerView,
    CallbackView,
    ClaimView,
    ContactAttemptView,
    ConversationView,
    HandoffView,
    PlanView,
    PromiseView,
)

log = logging.getLogger(__name__)


def mask_ref(reference: str | None) -> str:
    """Log-safe form of a borrower/account id: enough to correlate, not to identify."""
    if not reference:
        return "-"
    return "***" + reference[-3:]


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


# --- row -> view ---------------------------------------------------------------------------


def _account_view(row: LoanAccount) -> AccountView:
    return AccountView(
        account_id=row.account_id,
        borrower_id=row.borrower_id,
        lender_name=row.lender_name,
        principal_cents=row.principal_cents,
        interest_cents=row.interest_cents,
        fees_cents=row.fees_cents,
        balance_cents=row.balance_cents,
        due_date=row.due_date,
        days_past_due=row.days_past_due,
        risk_tier=row.risk_tier,
        status=row.status,
        product=row.product,
        currency=row.currency,
    )


def _plan_view(row: InstalmentPlan) -> PlanView:
    return PlanView(
        plan_id=row.id,
        account_id=row.account_id,
        conversation_id=row.conversation_id,
        periods=row.periods,
        fee_cents=row.fee_cents,
        total_cents=row.total_cents,
        items=tuple((item.due_date, item.amount_cents) for item in row.items),
        status=row.status,
        hardship=row.hardship,
    )


def _promise_view(row: PromiseToPay) -> PromiseView:
    return PromiseView(
        promise_id=row.id,
        account_id=row.account_id,
        conversation_id=row.conversation_id,
        amount_cents=row.amount_cents,
        promised_date=row.promised_date,
        status=row.status,
        created_at=row.created_at,
    )


def _claim_view(row: Claim) -> ClaimView:
    return ClaimView(
        claim_id=row.id,
        borrower_id=row.borrower_id,
        account_id=row.account_id,
        conversation_id=row.conversation_id,
        kind=row.kind,
        detail=row.detail,
        amount_cents=row.amount_cents,
        claimed_date=row.claimed_date,
        decision=row.decision,
        status=row.status,
        created_at=row.created_at,
    )


def _handoff_view(row: HandoffRequest) -> HandoffView:
    return HandoffView(
        handoff_id=row.id,
        conversation_id=row.conversation_id,
        borrower_id=row.borrower_id,
        reason=row.reason,
        priority=row.priority,
        status=row.status,
        created_at=row.created_at,
    )


def _conversation_view(row: ConversationRecord) -> ConversationView:
    return ConversationView(
        conversation_id=row.conversation_id,
        borrower_id=row.borrower_id,
        channel=row.channel,
        started_at=row.started_at,
        ended_at=row.ended_at,
        identity_verified=row.identity_verified,
        outcome=row.outcome,
        summary=row.summary,
    )


def _claim_key(conversation_id: str, kind: str, account_id: str | None,
               amount_cents: int | None, claimed_date: date | None, extra: str = "") -> str:
    parts = (conversation_id, kind, account_id or "", "" if amount_cents is None else str(amount_cents),
             claimed_date.isoformat() if claimed_date else "", extra)
    return "|".join(parts)


class Ledger:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        policy: CollectionPolicy | None = None,
    ) -> None:
        self._sessions = session_factory
        self._policy = policy

    @property
    def policy(self) -> CollectionPolicy:
        # Resolved lazily so constructing a Ledger never reads the policy file.
        if self._policy is None:
            self._policy = policy_rules.get_policy()
        return self._policy

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # --- borrowers and accounts -----------------------------------------------------------

    def get_borrower(self, borrower_id: str) -> BorrowerView | None:
        with self._transaction() as session:
            row = session.get(BorrowerRow, borrower_id)
            if row is None:
                return None
            blocked = session.get(DoNotContact, borrower_id) is not None
            return BorrowerView(
                borrower_id=row.borrower_id,
                full_name=row.full_name,
                honorific=row.honorific,
                id_last4=row.id_number_masked[-4:],
                date_of_birth=row.date_of_birth,
                timezone=row.timezone,
                language=row.language,
                collection_paused=row.collection_paused,
                do_not_contact=blocked,
            )

    def get_primary_account(self, borrower_id: str) -> AccountView | None:
        """The collecting account with the largest balance (ties: lowest account id)."""
        with self._transaction() as session:
            balance = LoanAccount.principal_cents + LoanAccount.interest_cents + LoanAccount.fees_cents
            row = session.scalars(
                select(LoanAccount)
                .where(LoanAccount.borrower_id == borrower_id, LoanAccount.status == "collecting")
                .order_by(balance.desc(), LoanAccount.account_id)
                .limit(1)
            ).first()
            return _account_view(row) if row else None

    def get_account(self, account_id: str) -> AccountView | None:
        with self._transaction() as session:
            row = session.get(LoanAccount, account_id)
            return _account_view(row) if row else None

    def accounts_for(self, borrower_id: str) -> tuple[AccountView, ...]:
        with self._transaction() as session:
            rows = session.scalars(
                select(LoanAccount).where(LoanAccount.borrower_id == borrower_id)
                .order_by(LoanAccount.account_id)
            )
            return tuple(_account_view(row) for row in rows)

    def verify_identity(
        self,
        borrower_id: str,
        id_last4: str | None = None,
        date_of_birth: date | None = None,
    ) -> bool:
        """True only when every factor given matches; no factor at all is a failure."""
        if id_last4 is None and date_of_birth is None:
            return False
        with self._transaction() as session:
            row = session.get(BorrowerRow, borrower_id)
            if row is None:
                return False
            stored_last4 = row.id_number_masked[-4:].upper()
            stored_dob = row.date_of_birth
        matched = True
        if id_last4 is not None:
            given = id_last4.strip().upper().encode("utf-8")
            # Constant time: response timing must not reveal how many characters matched.
            matched &= hmac.compare_digest(given, stored_last4.encode("utf-8"))
        if date_of_birth is not None:
            matched &= date_of_birth == stored_dob
        return matched

    # --- promises and plans --------------------------------------------------------------

    def _collecting_account(self, session: Session, account_id: str, *, for_update: bool = False) -> LoanAccount:
        row = session.get(LoanAccount, account_id, with_for_update=for_update)
        if row is None:
            raise NotFound(f"no account {mask_ref(account_id)}")
        if row.status != "collecting":
            raise PolicyViolation("account_not_collecting", f"account is {row.status}")
        return row

    def record_promise(
        self,
        account_id: str,
        conversation_id: str,
        amount_cents: int,
        promised_date: date,
        today: date,
    ) -> PromiseView:
        if not isinstance(amount_cents, int) or isinstance(amount_cents, bool):
            raise TypeError("amount_cents must be an int")
        with self._transaction() as session:
            account = self._collecting_account(session, account_id)
            if amount_cents <= 0:
                raise PolicyViolation("amount_not_positive", "promised amount must be above zero")
            if amount_cents > account.balance_cents:
                raise PolicyViolation("amount_exceeds_balance", "promised amount exceeds the balance")
            earliest, latest = policy_rules.promise_window(account.risk_tier, today, self.policy)
            if not earliest <= promised_date <= latest:
                raise PolicyViolation(
                    "date_outside_window",
                    f"promised date must be between {earliest.isoformat()} and {latest.isoformat()}",
                )

            def existing() -> PromiseToPay | None:
                return session.scalars(select(PromiseToPay).where(
                    PromiseToPay.account_id == account_id,
                    PromiseToPay.conversation_id == conversation_id,
                    PromiseToPay.amount_cents == amount_cents,
                    PromiseToPay.promised_date == promised_date,
                )).first()

            row = existing()
            if row is None:
                try:
                    # Savepoint: a concurrent retry may win the unique constraint; then reuse its row.
                    with session.begin_nested():
                        row = PromiseToPay(account_id=account_id, conversation_id=conversation_id,
                                           amount_cents=amount_cents, promised_date=promised_date)
                        session.add(row)
                except IntegrityError:
                    row = existing()
                    if row is None:
                        raise
                else:
                    log.info("promise recorded account=%s", mask_ref(account_id))
            return _promise_view(row)

    def propose_plan(
        self,
        account_id: str,
        conversation_id: str,
        periods: int,
        first_due: date,
        hardship: bool = False,
    ) -> PlanView:
        with self._transaction() as session:
            account = self._collecting_account(session, account_id)
            view = _account_view(account)
            allowed = policy_rules.allowed_periods(view, hardship, self.policy)
            if periods not in allowed:
                raise PolicyViolation("periods_not_allowed", f"{periods} periods not in {allowed}")
            fee = policy_rules.plan_fee_cents(view.balance_cents, periods, view.risk_tier, hardship, self.policy)
            total = view.balance_cents + fee

            # The same offer repeated in one conversation (a retried action) is one plan.
            for plan in session.scalars(select(InstalmentPlan).where(
                InstalmentPlan.account_id == account_id,
                InstalmentPlan.conversation_id == conversation_id,
                InstalmentPlan.periods == periods,
                InstalmentPlan.total_cents == total,
                InstalmentPlan.status != "cancelled",
            )):
                if plan.items and plan.items[0].due_date == first_due:
                    return _plan_view(plan)

            plan = InstalmentPlan(account_id=account_id, conversation_id=conversation_id,
                                  periods=periods, fee_cents=fee, total_cents=total, hardship=hardship)
            plan.items = [
                InstalmentPlanItem(seq=seq, due_date=due, amount_cents=amount)
                for seq, (due, amount) in enumerate(build_schedule(total, periods, first_due), start=1)
            ]
            session.add(plan)
            session.flush()
            log.info("plan proposed account=%s periods=%d", mask_ref(account_id), periods)
            return _plan_view(plan)

    def accept_plan(self, plan_id: int) -> PlanView:
        """Accept a proposed plan; other proposals still open on the account are cancelled."""
        with self._transaction() as session:
            plan = session.get(InstalmentPlan, plan_id, with_for_update=True)
            if plan is None:
                raise NotFound(f"no plan {plan_id}")
            if plan.status == "accepted":
                return _plan_view(plan)
            if plan.status != "proposed":
                raise PolicyViolation("plan_not_open", f"plan is {plan.status}")
            for other in session.scalars(select(InstalmentPlan).where(
                InstalmentPlan.account_id == plan.account_id,
                InstalmentPlan.status == "proposed",
                InstalmentPlan.id != plan.id,
            )):
                other.status = "cancelled"
            plan.status = "accepted"
            return _plan_view(plan)

    # --- claims and decisions ------------------------------------------------------------

    def _record_claim(self, session: Session, borrower_id: str, account_id: str | None,
                      conversation_id: str, kind: str, detail: str, amount_cents: int | None,
                      claimed_date: date | None, decision: str | None = None,
                      key_extra: str = "") -> Claim:
        if kind not in CLAIM_KINDS:
            raise ValueError(f"unknown claim kind {kind!r}")
        if session.get(BorrowerRow, borrower_id) is None:
            raise NotFound(f"no borrower {mask_ref(borrower_id)}")
        key = _claim_key(conversation_id, kind, account_id, amount_cents, claimed_date, key_extra)

        def existing() -> Claim | None:
            return session.scalars(select(Claim).where(Claim.idempotency_key == key)).first()

        row = existing()
        if row is not None:
            return row
        try:
            with session.begin_nested():
                row = Claim(borrower_id=borrower_id, account_id=account_id,
                            conversation_id=conversation_id, kind=kind, detail=detail,
                            amount_cents=amount_cents, claimed_date=claimed_date,
                            decision=decision, idempotency_key=key)
                session.add(row)
        except IntegrityError:
            row = existing()
            if row is None:
                raise
            return row
        log.info("claim recorded kind=%s borrower=%s", kind, mask_ref(borrower_id))
        return row

    def record_claim(
        self,
        borrower_id: str,
        account_id: str | None,
        conversation_id: str,
        kind: str,
        detail: str = "",
        amount_cents: int | None = None,
        claimed_date: date | None = None,
    ) -> ClaimView:
        """Record a claim; a dispute pauses collection until a human resolves it."""
        with self._transaction() as session:
            if account_id is not None:
                account = session.get(LoanAccount, account_id)
                if account is None or account.borrower_id != borrower_id:
                    raise NotFound(f"no account {mask_ref(account_id)} for this borrower")
            row = self._record_claim(session, borrower_id, account_id, conversation_id, kind,
                                     detail, amount_cents, claimed_date)
            if kind == "dispute":
                self._pause_collection(session, borrower_id, account_id)
            return _claim_view(row)

    def _pause_collection(self, session: Session, borrower_id: str, account_id: str | None) -> None:
        borrower = session.get(BorrowerRow, borrower_id)
        borrower.collection_paused = True
        query = select(LoanAccount).where(LoanAccount.borrower_id == borrower_id,
                                          LoanAccount.status == "collecting")
        if account_id is not None:
            query = query.where(LoanAccount.account_id == account_id)
        for account in session.scalars(query):
            account.status = "paused"

    def decide_fee_waiver(self, account_id: str, conversation_id: str, hardship: bool) -> WaiverDecision:
        """Decide a late-fee waiver and record it as a 'fee_waiver' claim for human follow-up.

        The balance is not changed here: a waiver takes effect when the lender books it.
        """
        with self._transaction() as session:
            account = session.get(LoanAccount, account_id)
            if account is None:
                raise NotFound(f"no account {mask_ref(account_id)}")
            decision = policy_rules.decide_fee_waiver(_account_view(account), hardship, self.policy)
            self._record_claim(
                session, account.borrower_id, account_id, conversation_id, "fee_waiver",
                detail="hardship" if hardship else "",
                amount_cents=decision.waived_cents, claimed_date=None,
                decision=f"{'granted' if decision.granted else 'declined'}:{decision.reason_code}",
            )
            return decision

    def decide_extension(
        self, account_id: str, conversation_id: str, requested_days: int | None, today: date
    ) -> ExtensionDecision:
        """Decide a due-date extension and record it as an 'extension' claim."""
        with self._transaction() as session:
            account = session.get(LoanAccount, account_id)
            if account is None:
                raise NotFound(f"no account {mask_ref(account_id)}")
            decision = policy_rules.decide_extension(_account_view(account), requested_days, today, self.policy)
            self._record_claim(
                session, account.borrower_id, account_id, conversation_id, "extension",
                detail="" if requested_days is None else f"requested_days={requested_days}",
                amount_cents=None, claimed_date=decision.new_due_date,
                decision=f"{'granted' if decision.granted else 'declined'}:{decision.reason_code}",
                # Two different requests in one conversation are two claims, even if both declined.
                key_extra=f"days={requested_days}",
            )
            return decision

    # --- contact bookkeeping -------------------------------------------------------------

    def record_callback(self, borrower_id: str, conversation_id: str, callback_at: datetime) -> CallbackView:
        _require_aware(callback_at, "callback_at")
        with self._transaction() as session:
            if session.get(BorrowerRow, borrower_id) is None:
                raise NotFound(f"no borrower {mask_ref(borrower_id)}")
            row = CallbackRequest(borrower_id=borrower_id, conversation_id=conversation_id,
                                  callback_at=callback_at)
            session.add(row)
            session.flush()
            # The row still holds the caller's object; report it in UTC, as it is stored.
            return CallbackView(row.id, row.borrower_id, row.conversation_id,
                                callback_at.astimezone(UTC), row.created_at)

    def set_do_not_contact(self, borrower_id: str, reason: str, source: str) -> None:
        """Record a do-not-contact request; the first request's reason and source are kept."""
        with self._transaction() as session:
            if session.get(BorrowerRow, borrower_id) is None:
                raise NotFound(f"no borrower {mask_ref(borrower_id)}")
            if session.get(DoNotContact, borrower_id) is None:
                session.add(DoNotContact(borrower_id=borrower_id, reason=reason, source=source))
                log.info("do-not-contact set borrower=%s source=%s", mask_ref(borrower_id), source)

    def is_do_not_contact(self, borrower_id: str) -> bool:
        with self._transaction() as session:
            return session.get(DoNotContact, borrower_id) is not None

    def record_handoff(self, conversation_id: str, borrower_id: str | None, reason: str, priority: int) -> HandoffView:
        """Queue a conversation for a human; the same reason twice is one request."""
        with self._transaction() as session:
            def existing() -> HandoffRequest | None:
                return session.scalars(select(HandoffRequest).where(
                    HandoffRequest.conversation_id == conversation_id,
                    HandoffRequest.reason == reason)).first()

            row = existing()
            if row is None:
                try:
                    with session.begin_nested():
                        row = HandoffRequest(conversation_id=conversation_id, borrower_id=borrower_id,
                                             reason=reason, priority=priority)
                        session.add(row)
                except IntegrityError:
                    row = existing()
                    if row is None:
                        raise
            elif priority < row.priority:
                # A later, more urgent signal (e.g. distress) moves the request up the queue.
                row.priority = priority
            return _handoff_view(row)

    def set_handoff_status(self, conversation_id: str, status: str, from_statuses: tuple[str, ...]) -> int:
        """Moves the conversation's handoff requests that are in `from_statuses` to `status` (the gateway's
        handoff desk: taken by an agent, served, callback offered); returns how many moved."""
        if status not in HANDOFF_STATUSES:
            raise ValueError(f"handoff status must be one of {HANDOFF_STATUSES}")
        with self._transaction() as session:
            rows = session.scalars(select(HandoffRequest).where(
                HandoffRequest.conversation_id == conversation_id, HandoffRequest.status.in_(from_statuses)))
            moved = 0
            for row in rows:
                row.status = status
                moved += 1
            return moved

    def record_contact_attempt(self, borrower_id: str, channel: str, conversation_id: str,
                               outcome: str, reason: str = "") -> ContactAttemptView:
        with self._transaction() as session:
            if session.get(BorrowerRow, borrower_id) is None:
                raise NotFound(f"no borrower {mask_ref(borrower_id)}")
            row = ContactAttempt(borrower_id=borrower_id, channel=channel,
                                 conversation_id=conversation_id, outcome=outcome, reason=reason)
            session.add(row)
            session.flush()
            return ContactAttemptView(row.id, row.borrower_id, row.channel, row.conversation_id,
                                      row.outcome, row.reason, row.created_at)

    def start_conversation(self, conversation_id: str, borrower_id: str | None, channel: str,
                           started_at: datetime) -> ConversationView:
        """Create the conversation record, or fill in the borrower once known (idempotent)."""
        _require_aware(started_at, "started_at")
        with self._transaction() as session:
            row = session.get(ConversationRecord, conversation_id)
            if row is None:
                try:
                    with session.begin_nested():
                        row = ConversationRecord(conversation_id=conversation_id, borrower_id=borrower_id,
                                                 channel=channel, started_at=started_at)
                        session.add(row)
                except IntegrityError:
                    row = session.get(ConversationRecord, conversation_id)
                    if row is None:
                        raise
            if row.borrower_id is None and borrower_id is not None:
                row.borrower_id = borrower_id
            return _conversation_view(row)

    def finish_conversation(self, conversation_id: str, outcome: str, summary: str,
                            identity_verified: bool, ended_at: datetime | None = None,
                            channel: str = "unknown") -> ConversationView:
        """Close the record. A conversation never started here (e.g. the action server restarted
        mid-call) is created on the spot: losing the outcome would be worse than a missing start.
        """
        ended_at = ended_at or utc_now()
        _require_aware(ended_at, "ended_at")
        with self._transaction() as session:
            row = session.get(ConversationRecord, conversation_id)
            if row is None:
                row = ConversationRecord(conversation_id=conversation_id, channel=channel, started_at=ended_at)
                session.add(row)
            row.outcome = outcome
            row.summary = summary
            row.identity_verified = identity_verified
            row.ended_at = ended_at
            return _conversation_view(row)

    # --- read helpers --------------------------------------------------------------------

    def promises_for(self, account_id: str) -> tuple[PromiseView, ...]:
        with self._transaction() as session:
            rows = session.scalars(select(PromiseToPay).where(PromiseToPay.account_id == account_id)
                                   .order_by(PromiseToPay.id))
            return tuple(_promise_view(row) for row in rows)

    def claims_for(self, borrower_id: str) -> tuple[ClaimView, ...]:
        with self._transaction() as session:
            rows = session.scalars(select(Claim).where(Claim.borrower_id == borrower_id).order_by(Claim.id))
            return tuple(_claim_view(row) for row in rows)

    def plans_for(self, account_id: str) -> tuple[PlanView, ...]:
        with self._transaction() as session:
            rows = session.scalars(select(InstalmentPlan).where(InstalmentPlan.account_id == account_id)
                                   .order_by(InstalmentPlan.id))
            return tuple(_plan_view(row) for row in rows)

    def handoffs_for(self, conversation_id: str) -> tuple[HandoffView, ...]:
        with self._transaction() as session:
            rows = session.scalars(select(HandoffRequest)
                                   .where(HandoffRequest.conversation_id == conversation_id)
                                   .order_by(HandoffRequest.id))
            return tuple(_handoff_view(row) for row in rows)

    def callbacks_for(self, borrower_id: str) -> tuple[CallbackView, ...]:
        with self._transaction() as session:
            rows = session.scalars(select(CallbackRequest).where(CallbackRequest.borrower_id == borrower_id)
                                   .order_by(CallbackRequest.callback_at))
            return tuple(CallbackView(r.id, r.borrower_id, r.conversation_id, r.callback_at, r.created_at)
                         for r in rows)

    def contact_attempts_for(self, borrower_id: str, since: datetime | None = None) -> tuple[ContactAttemptView, ...]:
        with self._transaction() as session:
            query = select(ContactAttempt).where(ContactAttempt.borrower_id == borrower_id)
            if since is not None:
                _require_aware(since, "since")
                query = query.where(ContactAttempt.created_at >= since)
            rows = session.scalars(query.order_by(ContactAttempt.created_at, ContactAttempt.id))
            return tuple(ContactAttemptView(r.id, r.borrower_id, r.channel, r.conversation_id,
                                            r.outcome, r.reason, r.created_at) for r in rows)

    def get_conversation(self, conversation_id: str) -> ConversationView | None:
        with self._transaction() as session:
            row = session.get(ConversationRecord, conversation_id)
            return _conversation_view(row) if row else None

    # --- borrower flags (distress, cease...) ------------------------------------------------

    def flag_borrower(self, borrower_id: str, kind: str, reason: str) -> None:
        """Raise a flag; a no-op while an uncleared flag of that kind already exists."""
        with self._transaction() as session:
            if session.get(BorrowerRow, borrower_id) is None:
                raise NotFound(f"no borrower {mask_ref(borrower_id)}")

            def active() -> BorrowerFlag | None:
                return session.scalars(select(BorrowerFlag).where(
                    BorrowerFlag.borrower_id == borrower_id, BorrowerFlag.kind == kind,
                    BorrowerFlag.cleared_at.is_(None))).first()

            if active() is not None:
                return
            try:
                with session.begin_nested():
                    session.add(BorrowerFlag(borrower_id=borrower_id, kind=kind, reason=reason))
            except IntegrityError:
                if active() is None:
                    raise
            else:
                log.info("flag raised borrower=%s kind=%s", mask_ref(borrower_id), kind)

    def clear_flag(self, borrower_id: str, kind: str, cleared_by: str) -> bool:
        """Clear the active flag of that kind; False when there was none."""
        with self._transaction() as session:
            row = session.scalars(select(BorrowerFlag).where(
                BorrowerFlag.borrower_id == borrower_id, BorrowerFlag.kind == kind,
                BorrowerFlag.cleared_at.is_(None)).with_for_update()).first()
            if row is None:
                return False
            row.cleared_at = utc_now()
            row.cleared_by = cleared_by
            log.info("flag cleared borrower=%s kind=%s", mask_ref(borrower_id), kind)
            return True

    def active_flags(self, borrower_id: str) -> tuple[str, ...]:
        """Kinds of the uncleared flags, sorted."""
        with self._transaction() as session:
            kinds = session.scalars(select(BorrowerFlag.kind).where(
                BorrowerFlag.borrower_id == borrower_id, BorrowerFlag.cleared_at.is_(None)))
            return tuple(sorted(set(kinds)))

    def flags_for(self, borrower_id: str) -> tuple[BorrowerFlagView, ...]:
        """Every flag ever raised for the borrower, cleared ones included, oldest first."""
        with self._transaction() as session:
            rows = session.scalars(select(BorrowerFlag).where(BorrowerFlag.borrower_id == borrower_id)
                                   .order_by(BorrowerFlag.id))
            return tuple(BorrowerFlagView(r.id, r.borrower_id, r.kind, r.reason, r.created_at,
                                          r.cleared_at, r.cleared_by) for r in rows)

    def contact_phone(self, borrower_id: str) -> str | None:
        """The borrower's phone number for dial caps; None when unknown or empty."""
        with self._transaction() as session:
            row = session.get(BorrowerRow, borrower_id)
            return (row.phone or None) if row is not None else None
