"""Operator CLI: python -m actions.ledger {init, seed, import FILE, show BORROWER_ID}."""

from __future__ import annotations

import argparse
import sys

from actions.ledger.csv_import import import_portfolio_csv
from actions.ledger.db import create_schema, database_url, make_engine, make_session_factory
from actions.ledger.repository import Ledger
from actions.ledger.seed import seed_demo_portfolio


def _yuan(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{fraction:02d} 元"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m actions.ledger", description=__doc__)
    parser.add_argument("--url", help="database URL (default: $LEDGER_DATABASE_URL or var/ledger.sqlite3)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create the tables")
    seed = commands.add_parser("seed", help="create the tables and load the demo portfolio")
    seed.add_argument("--count", type=int, default=1000, help="borrowers in total (default 1000)")
    seed.add_argument("--rng-seed", type=int, default=7)
    imported = commands.add_parser("import", help="import a portfolio CSV (all rows or none)")
    imported.add_argument("file")
    show = commands.add_parser("show", help="print one borrower and their accounts")
    show.add_argument("borrower_id")
    clear = commands.add_parser("clear-flag", help="a person clears a flag (e.g. distress) so contact may resume")
    clear.add_argument("borrower_id")
    clear.add_argument("kind", help="flag kind, e.g. distress")
    clear.add_argument("--by", required=True, help="who reviewed and cleared it (kept in the ledger)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    engine = make_engine(args.url or database_url())
    sessions = make_session_factory(engine)
    create_schema(engine)  # every command may be the first one run on a fresh checkout

    if args.command == "init":
        print(f"schema ready at {engine.url.render_as_string(hide_password=True)}")
        return 0
    if args.command == "seed":
        report = seed_demo_portfolio(sessions, count=args.count, rng_seed=args.rng_seed)
        print(f"seeded {report.borrowers_created} borrowers, {report.accounts_created} accounts")
        return 0
    if args.command == "import":
        report = import_portfolio_csv(sessions, args.file)
        print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
        return 0 if report.ok else 1
    if args.command == "show":
        ledger = Ledger(sessions)
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
        return 0
    if args.command == "clear-flag":
        if not Ledger(sessions).clear_flag(args.borrower_id, args.kind, args.by):
            print(f"no active {args.kind} flag on {args.borrower_id}", file=sys.stderr)
            return 1
        print(f"cleared {args.kind} flag on {args.borrower_id} (by {args.by})")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
