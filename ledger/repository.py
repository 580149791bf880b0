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

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ledger import phones, policy as policy_rules
from ledger.errors import NotFound, PolicyViolation
from ledger.models import (
    CLAIM_KINDS,
    CLAIM_OUTCOMES,
    HANDOFF_STATUSES,
    BorrowerFlag,
    CallbackRequest,
    Claim,
    ContactAttempt,
    Complaint,
    ConversationRecord,
    DoNotContact,
    HandoffRequest,
    IdentityCheck,
    InstalmentPlan,
    InstalmentPlanItem,
    LoanAccount,
    PromiseToPay,
    REVIEW_REQUEST_KINDS,
    ReviewRequest,
    SMS_OPT_OUT_SOURCES,
    SmsOptOut,
    VerificationUnlock,
    utc_now,
)
from ledger.models import Borrower as BorrowerRow
from ledger.lockout import CheckEvent, locked_until
from ledger.plans import build_schedule
from ledger.references import mask_reference
from ledger.policy import CollectionPolicy, ExtensionDecision, WaiverDecision
from ledger.views import (
    AccountView,
    BorrowerFlagView,
    BorrowerView,
    CallbackView,
    ClaimView,
    ContactAttemptView,
    ConversationView,
    HandoffView,
    IdentityCheckOutcome,
    IdentityCheckView,
    PlanView,
    PromiseView,
    ReviewRequestView,
)

log = logging.getLogger(__name__)

# Built once: the action server asks these on almost every turn, and building a select (and its cache key) each time
# cost about as much as running it (issue 17).
_PRIMARY_ACCOUNT = (
    select(LoanAccount)
    .where(LoanAccount.borrower_id == bindparam("borrower_id"), LoanAccount.status == "collecting")
    .order_by((LoanAccount.principal_cents + LoanAccount.interest_cents + LoanAccount.fees_cents).desc(),
              LoanAccount.account_id)
    .limit(1)
)
_VERIFIED_CHECK = (
    select(IdentityCheck)
    .where(IdentityCheck.conversation_id == bindparam("conversation_id"),
           IdentityCheck.borrower_id == bindparam("borrower_id"), IdentityCheck.result == "passed")
    .order_by(IdentityCheck.checked_at.desc())
    .limit(1)
)
DISPUTE_OUTCOMES = ("upheld", "rejected")


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
        outcome=row.outcome,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        resolution_note=row.resolution_note,
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
        taken_by=row.taken_by,
    )


def _review_request_view(row: ReviewRequest) -> ReviewRequestView:
    return ReviewRequestView(
        request_id=row.id,
        conversation_id=row.conversation_id,
        borrower_id=row.borrower_id,
        channel=row.channel,
        kind=row.kind,
        said=row.said,
        status=row.status,
        created_at=row.created_at,
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
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
        campaign_attempt_id=row.campaign_attempt_id,
    )


def _identity_check_view(row: IdentityCheck) -> IdentityCheckView:
    return IdentityCheckView(
        check_id=row.id,
        borrower_id=row.borrower_id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        method=row.method,
        result=row.result,
        checked_at=row.checked_at,
    )


def _answer_matches(borrower: BorrowerRow, id_last4: str | None, date_of_birth: date | None) -> bool:
    if id_last4 is not None:
        given = id_last4.strip().upper().encode("utf-8")
        # Constant time: response timing must not reveal how many characters matched.
        return hmac.compare_digest(given, borrower.id_number_masked[-4:].upper().encode("utf-8"))
    return date_of_birth == borrower.date_of_birth


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
        """`policy` defaults to the shipped ledger/policy.yml, read now (a bad file fails here, at start)."""
        self._sessions = session_factory
        self.policy = policy if policy is not None else policy_rules.load_policy()

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
                source=row.source,
            )

    def get_primary_account(self, borrower_id: str) -> AccountView | None:
        """The collecting account with the largest balance (ties: lowest account id)."""
        with self._transaction() as session:
            row = self._primary_account(session, borrower_id)
            return _account_view(row) if row else None

    @staticmethod
    def _primary_account(session: Session, borrower_id: str) -> LoanAccount | None:
        return session.scalars(_PRIMARY_ACCOUNT, {"borrower_id": borrower_id}).first()

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

    # --- identity checks ------------------------------------------------------------------

    def check_identity(
        self,
        borrower_id: str,
        conversation_id: str,
        channel: str,
        *,
        id_last4: str | None = None,
        date_of_birth: date | None = None,
        at: datetime | None = None,
    ) -> IdentityCheckOutcome:
        """Compares one answer (the ID's last four characters, or the date of birth) and records the check.

        While the borrower's check is locked (ledger.lockout) the answer is not compared at all, so a lockout
        never tells a guesser whether the guess was right; the attempt is still recorded, as locked_out.
        """
        if (id_last4 is None) == (date_of_birth is None):
            raise ValueError("give exactly one of id_last4 and date_of_birth")
        if at is not None:
            _require_aware(at, "at")
        rules = self.policy.verification
        with self._transaction() as session:
            borrower = self._lock_borrower(session, borrower_id)
            # Read the clock once the lock is held, so checks are stamped in the order they were decided.
            at = at or utc_now()
            if locked_until(self._check_events(session, borrower_id, at), rules, at) is not None:
                result = "locked_out"
            else:
                result = "passed" if _answer_matches(borrower, id_last4, date_of_birth) else "failed"
            session.add(IdentityCheck(
                borrower_id=borrower_id, conversation_id=conversation_id, channel=channel,
                method="id_last4" if id_last4 is not None else "date_of_birth", result=result, checked_at=at))
            session.flush()
            until = locked_until(self._check_events(session, borrower_id, at), rules, at)
            if result != "passed":
                log.info("identity check %s borrower=%s locked=%s", result, mask_reference(borrower_id), until is not None)
            return IdentityCheckOutcome(result, until)

    def verification_locked_until(self, borrower_id: str, at: datetime | None = None) -> datetime | None:
        """The end of the borrower's identity-check lockout, or None when answers are compared."""
        at = at or utc_now()
        _require_aware(at, "at")
        with self._transaction() as session:
            return locked_until(self._check_events(session, borrower_id, at), self.policy.verification, at)

    def unlock_verification(self, borrower_id: str, unlocked_by: str, at: datetime | None = None) -> None:
        """A person ends a lockout and starts the failure count again."""
        if at is not None:
            _require_aware(at, "at")
        with self._transaction() as session:
            self._lock_borrower(session, borrower_id)
            at = at or utc_now()
            session.add(VerificationUnlock(borrower_id=borrower_id, unlocked_by=unlocked_by, unlocked_at=at))
        log.info("identity check unlocked borrower=%s by=%s", mask_reference(borrower_id), unlocked_by)

    def verified_check(self, conversation_id: str, borrower_id: str) -> IdentityCheckView | None:
        """The check that verified this borrower in this conversation, if one did: what disclosure relies on."""
        with self._transaction() as session:
            row = session.scalars(_VERIFIED_CHECK, {"conversation_id": conversation_id,
                                                    "borrower_id": borrower_id}).first()
            return _identity_check_view(row) if row else None

    def identity_checks_for(self, borrower_id: str) -> tuple[IdentityCheckView, ...]:
        with self._transaction() as session:
            rows = session.scalars(select(IdentityCheck).where(IdentityCheck.borrower_id == borrower_id)
                                   .order_by(IdentityCheck.checked_at, IdentityCheck.id))
            return tuple(_identity_check_view(row) for row in rows)

    @staticmethod
    def _lock_borrower(session: Session, borrower_id: str) -> BorrowerRow:
        """Serialises a borrower's identity checks, so parallel conversations cannot each read the failure count
        before any of them records its guess. A write comes first: SQLite takes its write lock only on a write,
        PostgreSQL locks the row."""
        touched = session.execute(update(BorrowerRow).where(BorrowerRow.borrower_id == borrower_id)
                                  .values(collection_paused=BorrowerRow.collection_paused))
        if touched.rowcount == 0:
            raise NotFound(f"no borrower {mask_reference(borrower_id)}")
        return session.get(BorrowerRow, borrower_id)

    def _check_events(self, session: Session, borrower_id: str, at: datetime) -> list[CheckEvent]:
        """What counts toward a lockout at `at`, oldest first: compared answers and a person's unlocks (none after
        `at`, so a past moment is judged as it stood then: the quality review asks)."""
        since = at - self.policy.verification.history_needed
        checks = session.execute(select(IdentityCheck.checked_at, IdentityCheck.result).where(
            IdentityCheck.borrower_id == borrower_id, IdentityCheck.result.in_(("passed", "failed")),
            IdentityCheck.checked_at > since, IdentityCheck.checked_at <= at))
        unlocks = session.scalars(select(VerificationUnlock.unlocked_at).where(
            VerificationUnlock.borrower_id == borrower_id, VerificationUnlock.unlocked_at > since,
            VerificationUnlock.unlocked_at <= at))
        events = [CheckEvent(checked_at, result) for checked_at, result in checks]
        events += [CheckEvent(unlocked_at, "unlocked") for unlocked_at in unlocks]
        return sorted(events, key=lambda event: event.at)

    # --- promises and plans --------------------------------------------------------------

    def _collecting_account(self, session: Session, account_id: str, *, for_update: bool = False) -> LoanAccount:
        row = session.get(LoanAccount, account_id, with_for_update=for_update)
        if row is None:
            raise NotFound(f"no account {mask_reference(account_id)}")
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
        at: datetime | None = None,
    ) -> PromiseView:
        """`at`: when it was made, on the conversation's clock (payments after it keep it); now if None."""
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
                                           amount_cents=amount_cents, promised_date=promised_date,
                                           created_at=at or utc_now())
                        session.add(row)
                except IntegrityError:
                    row = existing()
                    if row is None:
                        raise
                else:
                    log.info("promise recorded account=%s", mask_reference(account_id))
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
            log.info("plan proposed account=%s periods=%d", mask_reference(account_id), periods)
            return _plan_view(plan)

    def accept_plan(self, plan_id: int) -> PlanView:
        """Accept a proposed plan; other proposals still open on the account are cancelled, and so is a plan the
        same conversation accepted before (the borrower changed their mind before hanging up)."""
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
                InstalmentPlan.id != plan.id,
                (InstalmentPlan.status == "proposed") | (
                    (InstalmentPlan.status == "accepted") & (InstalmentPlan.conversation_id == plan.conversation_id)),
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
            raise NotFound(f"no borrower {mask_reference(borrower_id)}")
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
        log.info("claim recorded kind=%s borrower=%s", kind, mask_reference(borrower_id))
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
                    raise NotFound(f"no account {mask_reference(account_id)} for this borrower")
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

    def resolve_claim(self, claim_id: int, outcome: str, resolved_by: str, note: str = "",
                      at: datetime | None = None) -> ClaimView:
        """A person closes a claim, once. A dispute is `upheld` (the debt is not owed as the lender had it: the
        disputed account is `closed`, nothing more is collected on it) or `rejected` (collection resumes on it); any
        other claim is upheld, rejected or `resolved`, and only closes (a hardship claim's borrower leaves the
        hardship segment). Collection stays paused while another dispute of the borrower is open, and an account
        another open dispute names stays paused. Raises NotFound, PolicyViolation (`claim_closed`,
        `outcome_not_allowed`) or ValueError (an outcome that does not exist, no name); nothing changes then.
        The caller audits it and places the borrower again (campaigns.claim_resolution)."""
        if outcome not in CLAIM_OUTCOMES:
            raise ValueError(f"outcome must be one of {CLAIM_OUTCOMES}")
        if not resolved_by.strip():
            raise ValueError("resolved_by names the person who resolved the claim")
        if at is not None:
            _require_aware(at, "at")
        with self._transaction() as session:
            # The close is the first statement, a conditional write: of two people closing one claim at once, one
            # closes it and the other finds it closed (SQLite takes its write lock here; PostgreSQL the row's).
            closing = update(Claim).where(Claim.id == claim_id, Claim.status == "open").values(
                status="closed", outcome=outcome, resolved_by=resolved_by, resolved_at=at or utc_now(),
                resolution_note=note)
            if outcome not in DISPUTE_OUTCOMES:
                closing = closing.where(Claim.kind != "dispute")
            closed = session.execute(closing).rowcount == 1
            row = session.get(Claim, claim_id, populate_existing=True)
            if row is None:
                raise NotFound(f"no claim {claim_id}")
            if not closed and row.status != "open":
                raise PolicyViolation("claim_closed", f"claim {claim_id} is already closed ({row.outcome})")
            if not closed:
                raise PolicyViolation("outcome_not_allowed", f"a dispute is {' or '.join(DISPUTE_OUTCOMES)}")
            if row.kind == "dispute":
                self._lock_borrower(session, row.borrower_id)  # one resolution of this borrower's disputes at a time
                self._end_dispute(session, row)
            log.info("claim %d (%s) %s by %s", row.id, row.kind, outcome, resolved_by)
            return _claim_view(row)

    @staticmethod
    def _end_dispute(session: Session, claim: Claim) -> None:
        """The disputed accounts (the claim's, or all the borrower's paused ones) closed or collected again."""
        still_open = list(session.scalars(select(Claim).where(
            Claim.borrower_id == claim.borrower_id, Claim.kind == "dispute", Claim.status == "open")))
        query = select(LoanAccount).where(LoanAccount.borrower_id == claim.borrower_id)
        if claim.account_id is not None:
            query = query.where(LoanAccount.account_id == claim.account_id)
        else:
            query = query.where(LoanAccount.status == "paused")
        still_disputed = {other.account_id for other in still_open}
        for account in session.scalars(query):
            if claim.outcome == "upheld" and account.status in ("collecting", "paused"):
                account.status = "closed"
            elif claim.outcome == "rejected" and account.status == "paused" \
                    and None not in still_disputed and account.account_id not in still_disputed:
                account.status = "collecting"
        session.get(BorrowerRow, claim.borrower_id).collection_paused = bool(still_open)

    def decide_fee_waiver(self, account_id: str, conversation_id: str, hardship: bool) -> WaiverDecision:
        """Decide a late-fee waiver and record it as a 'fee_waiver' claim for human follow-up.

        The balance is not changed here: a waiver takes effect when the lender books it.
        """
        with self._transaction() as session:
            account = session.get(LoanAccount, account_id)
            if account is None:
                raise NotFound(f"no account {mask_reference(account_id)}")
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
                raise NotFound(f"no account {mask_reference(account_id)}")
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
                raise NotFound(f"no borrower {mask_reference(borrower_id)}")
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
            self._add_do_not_contact(session, borrower_id, reason, source)

    @staticmethod
    def _add_do_not_contact(session: Session, borrower_id: str, reason: str, source: str) -> None:
        if session.get(BorrowerRow, borrower_id) is None:
            raise NotFound(f"no borrower {mask_reference(borrower_id)}")
        if session.get(DoNotContact, borrower_id) is None:
            session.add(DoNotContact(borrower_id=borrower_id, reason=reason, source=source))
            log.info("do-not-contact set borrower=%s source=%s", mask_reference(borrower_id), source)

    # --- SMS opt-outs (per number: the line that opted out; ledger.models.SmsOptOut) --------------

    def record_sms_opt_out(self, number: str, source: str, keyword: str = "", at: datetime | None = None) -> bool:
        """No more SMS to this E.164 number: the carrier refused one (source carrier_opt_out, Twilio 21610) or the
        borrower texted a stop word (sms_keyword). True when newly recorded; an opt-out already active is kept."""
        if source not in SMS_OPT_OUT_SOURCES:
            raise ValueError(f"source must be one of {SMS_OPT_OUT_SOURCES}")
        if at is not None:
            _require_aware(at, "at")
        with self._transaction() as session:
            def active() -> SmsOptOut | None:
                return session.scalars(select(SmsOptOut).where(SmsOptOut.number == number,
                                                               SmsOptOut.cleared_at.is_(None))).first()

            if active() is not None:
                return False
            try:
                with session.begin_nested():
                    session.add(SmsOptOut(number=number, source=source, keyword=keyword[:16],
                                          created_at=at or utc_now()))
            except IntegrityError:  # a concurrent STOP for the same number recorded it first
                if active() is None:
                    raise
                return False
            log.info("sms opt-out recorded number=%s source=%s", mask_reference(number), source)
            return True

    def clear_sms_opt_out(self, number: str, keyword: str, at: datetime | None = None) -> bool:
        """The borrower texted START (or UNSTOP): SMS may go to the number again. Only an SMS opt-out is cleared,
        never a do-not-contact the borrower asked for in a conversation. False when none was active."""
        with self._transaction() as session:
            moved = session.execute(update(SmsOptOut).where(SmsOptOut.number == number, SmsOptOut.cleared_at.is_(None))
                                    .values(cleared_at=at or utc_now(), cleared_keyword=keyword[:16])).rowcount
            if moved:
                log.info("sms opt-out cleared number=%s", mask_reference(number))
            return bool(moved)

    def sms_opted_out(self, number: str) -> bool:
        with self._transaction() as session:
            return session.scalars(select(SmsOptOut.id).where(SmsOptOut.number == number,
                                                              SmsOptOut.cleared_at.is_(None))).first() is not None

    def is_do_not_contact(self, borrower_id: str) -> bool:
        with self._transaction() as session:
            return session.get(DoNotContact, borrower_id) is not None

    def record_handoff(self, conversation_id: str, borrower_id: str | None, reason: str, priority: int,
                       at: datetime | None = None) -> HandoffView:
        """Queue a conversation for a human; the same reason twice is one request. `at`: when it was asked for (the
        caller's clock: a simulated month records its own time); now if None."""
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
                                             reason=reason, priority=priority, created_at=at or utc_now())
                        session.add(row)
                except IntegrityError:
                    row = existing()
                    if row is None:
                        raise
            elif priority < row.priority:
                # A later, more urgent signal (e.g. distress) moves the request up the queue.
                row.priority = priority
            return _handoff_view(row)

    def set_handoff_status(self, conversation_id: str, status: str, from_statuses: tuple[str, ...],
                           taken_by: str | None = None) -> int:
        """Moves the conversation's handoff requests that are in `from_statuses` to `status` (the gateway's
        handoff desk: taken by an agent, served, callback offered); returns how many moved. `taken_by`: the agent
        who took them (kept: the quality review samples conversations per agent)."""
        if status not in HANDOFF_STATUSES:
            raise ValueError(f"handoff status must be one of {HANDOFF_STATUSES}")
        with self._transaction() as session:
            rows = session.scalars(select(HandoffRequest).where(
                HandoffRequest.conversation_id == conversation_id, HandoffRequest.status.in_(from_statuses)))
            moved = 0
            for row in rows:
                row.status = status
                if taken_by is not None:
                    row.taken_by = taken_by
                moved += 1
            return moved

    def record_contact_attempt(self, borrower_id: str, channel: str, conversation_id: str,
                               outcome: str, reason: str = "", at: datetime | None = None) -> ContactAttemptView:
        """`at`: when it happened (the caller's clock: a simulated month records its own time); now if None."""
        with self._transaction() as session:
            if session.get(BorrowerRow, borrower_id) is None:
                raise NotFound(f"no borrower {mask_reference(borrower_id)}")
            row = ContactAttempt(borrower_id=borrower_id, channel=channel, conversation_id=conversation_id,
                                 outcome=outcome, reason=reason, created_at=at or utc_now())
            session.add(row)
            session.flush()
            return ContactAttemptView(row.id, row.borrower_id, row.channel, row.conversation_id,
                                      row.outcome, row.reason, row.created_at)

    def start_conversation(self, conversation_id: str, borrower_id: str | None, channel: str,
                           started_at: datetime, campaign_attempt_id: str | None = None) -> ConversationView:
        """Create the conversation record, or fill in the borrower once known (idempotent). `campaign_attempt_id`:
        the chat reminder whose link opened it (the gateway records it before the dialogue starts)."""
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
            if row.campaign_attempt_id is None and campaign_attempt_id is not None:
                row.campaign_attempt_id = campaign_attempt_id
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
            self._raise_flag(session, borrower_id, kind, reason)

    @staticmethod
    def _raise_flag(session: Session, borrower_id: str, kind: str, reason: str) -> None:
        if session.get(BorrowerRow, borrower_id) is None:
            raise NotFound(f"no borrower {mask_reference(borrower_id)}")

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
            log.info("flag raised borrower=%s kind=%s", mask_reference(borrower_id), kind)

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
            log.info("flag cleared borrower=%s kind=%s", mask_reference(borrower_id), kind)
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

    # --- requests from unverified parties, for a person to review ---------------------------

    def record_review_request(self, conversation_id: str, claimed_borrower_id: str | None, channel: str,
                              kind: str, said: str = "") -> ReviewRequestView:
        """Keep an unverified party's request (stop contact, dispute, distress, wrong number) without acting on it. The borrower
        is kept only when the ledger knows the claimed id; the same kind twice in a conversation is one request,
        the first words kept."""
        if kind not in REVIEW_REQUEST_KINDS:
            raise ValueError(f"review request kind must be one of {REVIEW_REQUEST_KINDS}")
        with self._transaction() as session:
            known = claimed_borrower_id if claimed_borrower_id and session.get(BorrowerRow, claimed_borrower_id) else None

            def existing() -> ReviewRequest | None:
                return session.scalars(select(ReviewRequest).where(
                    ReviewRequest.conversation_id == conversation_id, ReviewRequest.kind == kind)).first()

            row = existing()
            if row is None:
                try:
                    with session.begin_nested():
                        row = ReviewRequest(conversation_id=conversation_id, borrower_id=known, channel=channel,
                                            kind=kind, said=said)
                        session.add(row)
                except IntegrityError:
                    row = existing()
                    if row is None:
                        raise
                else:
                    log.info("review request recorded kind=%s borrower=%s", kind,
                             mask_reference(known) if known else "unknown")
            return _review_request_view(row)

    def record_complaint(self, conversation_id: str, claimed_borrower_id: str | None, channel: str, said: str = "",
                         at: datetime | None = None) -> bool:
        """Keep a complaint about being contacted; True when it is the conversation's first (later ones add nothing)."""
        if at is not None:
            _require_aware(at, "at")
        with self._transaction() as session:
            known = claimed_borrower_id if claimed_borrower_id and session.get(BorrowerRow, claimed_borrower_id) else None
            if session.scalars(select(Complaint.id).where(Complaint.conversation_id == conversation_id)).first():
                return False
            try:
                with session.begin_nested():
                    session.add(Complaint(conversation_id=conversation_id, borrower_id=known, channel=channel,
                                          said=said, created_at=at or utc_now()))
            except IntegrityError:
                return False  # recorded by a concurrent retry of the same action
            log.info("complaint recorded borrower=%s", mask_reference(known) if known else "unknown")
            return True

    def review_requests(self, status: str | None = "pending", *, conversation_id: str | None = None,
                        borrower_id: str | None = None) -> tuple[ReviewRequestView, ...]:
        """Oldest first; status None means every status."""
        with self._transaction() as session:
            query = select(ReviewRequest)
            if status is not None:
                query = query.where(ReviewRequest.status == status)
            if conversation_id is not None:
                query = query.where(ReviewRequest.conversation_id == conversation_id)
            if borrower_id is not None:
                query = query.where(ReviewRequest.borrower_id == borrower_id)
            return tuple(_review_request_view(row) for row in session.scalars(query.order_by(ReviewRequest.id)))

    def get_review_request(self, request_id: int) -> ReviewRequestView | None:
        with self._transaction() as session:
            row = session.get(ReviewRequest, request_id)
            return _review_request_view(row) if row else None

    def apply_review_request(self, request_id: int, reviewed_by: str) -> ReviewRequestView:
        """A person who established that the request came from the borrower applies it, exactly as a verified
        borrower's request would have been: distress flags the borrower, do-not-contact stops contact, a dispute
        becomes a claim and pauses collection. A wrong number, once a person confirms the number on file reaches
        someone else, flags the borrower `wrong_number`: no contact goes to that number (contact_policy.yml
        blocking_flags) until the number is corrected and the flag cleared. Raises NotFound, or PolicyViolation
        when the request is no longer pending or names no known borrower (nothing to apply it to: dismiss it)."""
        with self._transaction() as session:
            row = self._pending_review_request(session, request_id)
            if row.borrower_id is None:
                raise PolicyViolation("no_known_borrower", "the request names no borrower the ledger knows")
            if row.kind == "distress":
                self._raise_flag(session, row.borrower_id, "distress", f"review by {reviewed_by}: {row.said}"[:200])
            elif row.kind == "do_not_contact":
                self._add_do_not_contact(session, row.borrower_id, "requested_in_conversation",
                                         f"{row.channel}:review:{reviewed_by}"[:64])
            elif row.kind == "wrong_number":
                self._raise_flag(session, row.borrower_id, "wrong_number",
                                 f"number on file reached someone else ({row.channel}); review by {reviewed_by}"[:200])
            else:
                account = self._primary_account(session, row.borrower_id)
                account_id = account.account_id if account else None
                self._record_claim(session, row.borrower_id, account_id, row.conversation_id, "dispute",
                                   row.said, None, None)
                self._pause_collection(session, row.borrower_id, account_id)
            return self._close_review_request(row, "applied", reviewed_by)

    def dismiss_review_request(self, request_id: int, reviewed_by: str) -> ReviewRequestView:
        """A person decided the request is not the borrower's (or needs nothing): closed, the account untouched."""
        with self._transaction() as session:
            return self._close_review_request(self._pending_review_request(session, request_id), "dismissed",
                                              reviewed_by)

    @staticmethod
    def _pending_review_request(session: Session, request_id: int) -> ReviewRequest:
        row = session.get(ReviewRequest, request_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no review request {request_id}")
        if row.status != "pending":
            raise PolicyViolation("review_request_closed", f"review request is {row.status}")
        return row

    @staticmethod
    def _close_review_request(row: ReviewRequest, status: str, reviewed_by: str) -> ReviewRequestView:
        row.status = status
        row.reviewed_by = reviewed_by
        row.reviewed_at = utc_now()
        log.info("review request %d %s by %s", row.id, status, reviewed_by)
        return _review_request_view(row)

    def borrowers_at_number(self, caller_number: str) -> list[str]:
        """Who has this caller's number on file (ledger.phones): a call is put through only for exactly one."""
        with self._transaction() as session:
            return phones.borrowers_at(session, caller_number)

    def contact_phone(self, borrower_id: str) -> str | None:
        """The borrower's phone number for dial caps; None when unknown or empty."""
        with self._transaction() as session:
            row = session.get(BorrowerRow, borrower_id)
            return (row.phone or None) if row is not None else None
