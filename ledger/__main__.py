"""Operator CLI: python -m ledger {init, migrate, revision, seed, import FILE, import-payments FILE, show BORROWER_ID,
clear-flag, unlock-verification, review-requests, apply-request, dismiss-request, resolve-claim}."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from sqlalchemy import func, select

from campaigns.claim_resolution import ClaimResolutions
from ledger.csv_import import import_portfolio_csv
from configuration.settings import Settings
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.errors import NotFound, PolicyViolation
from ledger.models import CLAIM_OUTCOMES, Borrower
from ledger.payment_csv import import_payments_csv
from ledger.payments import Payments
from ledger.policy import load_policy
from ledger.repository import Ledger
from ledger.schema import new_revision
from ledger.seed import seed_demo_portfolio


def _yuan(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{fraction:02d} 元"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ledger", description=__doc__)
    parser.add_argument("--url", help="database URL (default: $COLLECTIONS_LEDGER_DATABASE_URL or var/ledger.sqlite3)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create the tables, or bring them to the newest schema (same as migrate)")
    commands.add_parser("migrate", help="bring the database to the newest schema (ledger/migrations)")
    revision = commands.add_parser(
        "revision", help="developers: write a migration for what ledger/models.py has and the migrations do not")
    revision.add_argument("-m", "--message", required=True, help="what the migration changes, a few words")
    seed = commands.add_parser(
        "seed", help="load the demo portfolio (made-up borrowers); refused while a real provider is configured")
    seed.add_argument("--count", type=int, default=1000, help="Chinese borrowers in total (default 1000)")
    seed.add_argument("--us-count", type=int, default=80, help="US borrowers, ids from B900001 (default 80)")
    seed.add_argument("--rng-seed", type=int, default=7)
    seed.add_argument("--for-demo", action="store_true",
                      help="the start command's: seed only an empty ledger with no real provider configured, "
                           "else say why not and succeed")
    imported = commands.add_parser("import", help="import a portfolio CSV (all rows or none)")
    imported.add_argument("file")
    paid = commands.add_parser(
        "import-payments", help="record the payments in a CSV (each valid row; a re-import records nothing twice)")
    paid.add_argument("file")
    show = commands.add_parser("show", help="print one borrower and their accounts")
    show.add_argument("borrower_id")
    clear = commands.add_parser("clear-flag", help="a person clears a flag (e.g. distress) so contact may resume")
    clear.add_argument("borrower_id")
    clear.add_argument("kind", help="flag kind, e.g. distress")
    clear.add_argument("--by", required=True, help="who reviewed and cleared it (kept in the ledger)")
    unlock = commands.add_parser(
        "unlock-verification", help="a person ends an identity-check lockout and resets the failure count")
    unlock.add_argument("borrower_id")
    unlock.add_argument("--by", required=True, help="who checked the borrower and unlocked (kept in the ledger)")
    requests = commands.add_parser(
        "review-requests", help="list requests from unverified parties (stop contact, dispute, distress, wrong number) to review")
    requests.add_argument("--all", action="store_true", help="applied and dismissed ones too")
    for name, meaning in (("apply-request", "the request was the borrower's: do what it asked"),
                          ("dismiss-request", "the request was not the borrower's: close it, change nothing")):
        decided = commands.add_parser(name, help=meaning)
        decided.add_argument("request_id", type=int)
        decided.add_argument("--by", required=True, help="who reviewed it (kept in the ledger)")
    resolve = commands.add_parser(
        "resolve-claim", help="a person closes a dispute or hardship claim (`show` lists a borrower's claims); the "
                              "borrower is placed in the strategy again at once")
    resolve.add_argument("claim_id", type=int)
    resolve.add_argument("outcome", choices=CLAIM_OUTCOMES,
                         help="upheld: the borrower is right (a disputed account is closed); rejected: collection "
                              "resumes; resolved: a hardship or request dealt with (not for a dispute)")
    resolve.add_argument("--by", required=True, help="who decided (kept in the ledger and the audit chain)")
    resolve.add_argument("--note", default="", help="why, for the record")
    return parser


def _claim_line(claim) -> str:
    closed = f"  {claim.outcome} by {claim.resolved_by}" if claim.status == "closed" else ""
    return (f"  claim {claim.claim_id}  {claim.kind}  {claim.status}  {claim.account_id or '(all accounts)'}  "
            f"{claim.created_at:%Y-%m-%d %H:%M}Z{closed}")


def _review_line(request) -> str:
    borrower = request.borrower_id or "(unknown id)"
    reviewed = f"  {request.status} by {request.reviewed_by}" if request.reviewed_by else ""
    return (f"{request.request_id}  {request.created_at:%Y-%m-%d %H:%M}Z  {request.kind}  {borrower}  "
            f"{request.channel}  conversation {request.conversation_id}  \"{request.said}\"{reviewed}")


def _seed(sessions, args: argparse.Namespace) -> int:
    """Demo borrowers have real-format numbers: with a real provider the worker would call and text them."""
    providers = Settings().contact_providers()
    if providers:
        print(f"not seeding demo borrowers: a real provider is configured ({', '.join(providers)})",
              file=sys.stdout if args.for_demo else sys.stderr)
        return 0 if args.for_demo else 1
    if args.for_demo:
        with sessions() as session:
            held = session.scalar(select(func.count()).select_from(Borrower))
        if held:
            print(f"not seeding demo borrowers: the ledger already holds {held} borrowers")
            return 0
    report = seed_demo_portfolio(sessions, count=args.count, rng_seed=args.rng_seed, us_count=args.us_count)
    print(f"seeded {report.borrowers_created} borrowers, {report.accounts_created} accounts")
    return 0


def _place_paid_borrowers(sessions, settings: Settings, ledger: Ledger, payments) -> None:
    """A payment moves its borrower in the collection strategy at once, as one reported to the payments API does
    (campaigns.segmenter), not at the campaign worker's next tick. The payments stay recorded when this fails: the
    next tick places the borrowers."""
    if not payments:
        return
    # Imported here: only this command needs the strategy (and the contact policy its hours are checked against).
    from campaigns.segmenter import Segmenter
    from campaigns.strategy import load_strategy
    from compliance_filters.contact_policy import load_config as load_contact_policy
    from ledger.campaign_records import CampaignRecords
    from ledger.portfolio import Portfolio

    try:
        strategy = load_strategy(settings.campaigns.strategy_file,
                                 load_contact_policy(settings.compliance.contact_policy_file))
        paid = [(ledger.get_account(payment.account_id).borrower_id, payment.payment_id) for payment in payments]
        Segmenter(strategy, Portfolio(sessions), CampaignRecords(sessions)).place_after_payments(
            paid, settings.gateway.fixed_now or datetime.now(UTC))
    except Exception as error:  # by kind only: a message may carry borrower data
        print(f"payments recorded; placing their borrowers in the strategy failed ({type(error).__name__}): the "
              "campaign worker's next tick places them", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "revision":  # compared on a scratch database: no one's data is touched
        written = new_revision(args.message)
        print(f"wrote {written}: read it, write by hand what autogenerate cannot see (CHECK values, data)")
        return 0
    engine = make_engine(args.url or Settings().ledger.url())
    sessions = make_session_factory(engine)
    upgrade = create_schema(engine)  # every command may be the first one run on a fresh checkout

    if args.command in ("init", "migrate"):
        where = engine.url.render_as_string(hide_password=True)
        change = f"{upgrade.before} -> {upgrade.after}" if upgrade.changed else f"already at {upgrade.after}"
        print(f"schema {change} at {where}")
        return 0
    if args.command == "seed":
        return _seed(sessions, args)
    if args.command == "import":
        report = import_portfolio_csv(sessions, args.file)
        print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
        return 0 if report.ok else 1
    if args.command == "import-payments":
        settings = Settings()
        policy = load_policy(settings.ledger.policy_file)
        report = import_payments_csv(Payments(sessions, policy), args.file)
        print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
        _place_paid_borrowers(sessions, settings, Ledger(sessions, policy), report.new_payments)
        return 0 if report.ok else 1
    if args.command == "show":
        ledger = Ledger(sessions, load_policy(Settings().ledger.policy_file))
        borrower = ledger.get_borrower(args.borrower_id)
        if borrower is None:
            print(f"no borrower {args.borrower_id}", file=sys.stderr)
            return 1
        print(f"{borrower.borrower_id}  {borrower.full_name}{borrower.honorific}  id …{borrower.id_last4}  "
              f"{borrower.language}  {borrower.timezone}"
              + ("  [collection paused]" if borrower.collection_paused else "")
              + ("  [do not contact]" if borrower.do_not_contact else "")
              + "".join(f"  [flag: {kind}]" for kind in ledger.active_flags(borrower.borrower_id)))
        for account in ledger.accounts_for(borrower.borrower_id):
            print(f"  {account.account_id}  {account.lender_name}  tier {account.risk_tier}  "
                  f"dpd {account.days_past_due}  due {account.due_date.isoformat()}  "
                  f"balance {_yuan(account.balance_cents)} (principal {_yuan(account.principal_cents)}, "
                  f"interest {_yuan(account.interest_cents)}, fees {_yuan(account.fees_cents)})  "
                  f"{account.status}")
        for claim in ledger.claims_for(borrower.borrower_id):
            print(_claim_line(claim))
        return 0
    if args.command == "clear-flag":
        if not Ledger(sessions, load_policy(Settings().ledger.policy_file)).clear_flag(args.borrower_id, args.kind, args.by):
            print(f"no active {args.kind} flag on {args.borrower_id}", file=sys.stderr)
            return 1
        print(f"cleared {args.kind} flag on {args.borrower_id} (by {args.by})")
        return 0
    if args.command == "unlock-verification":
        ledger = Ledger(sessions, load_policy(Settings().ledger.policy_file))
        if ledger.get_borrower(args.borrower_id) is None:
            print(f"no borrower {args.borrower_id}", file=sys.stderr)
            return 1
        was_locked = ledger.verification_locked_until(args.borrower_id) is not None
        ledger.unlock_verification(args.borrower_id, args.by)
        print(f"identity check {'unlocked' if was_locked else 'was not locked; failure count reset'} "
              f"for {args.borrower_id} (by {args.by})")
        return 0
    if args.command == "review-requests":
        ledger = Ledger(sessions, load_policy(Settings().ledger.policy_file))
        for request in ledger.review_requests(None if args.all else "pending"):
            print(_review_line(request))
        return 0
    if args.command in ("apply-request", "dismiss-request"):
        ledger = Ledger(sessions, load_policy(Settings().ledger.policy_file))
        decide = ledger.apply_review_request if args.command == "apply-request" else ledger.dismiss_review_request
        try:
            print(_review_line(decide(args.request_id, args.by)))
        except (NotFound, PolicyViolation) as refusal:
            print(str(refusal), file=sys.stderr)
            return 1
        return 0
    if args.command == "resolve-claim":
        ledger = Ledger(sessions, load_policy(Settings().ledger.policy_file))
        try:
            claim = ClaimResolutions.from_settings(Settings(), sessions, ledger).resolve(
                args.claim_id, args.outcome, args.by, args.note)
        except (NotFound, PolicyViolation, ValueError) as refusal:
            print(str(refusal), file=sys.stderr)
            return 1
        print(_claim_line(claim).strip())
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
