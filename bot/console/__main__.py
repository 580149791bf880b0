"""Console accounts and the review queue: python -m bot.console {add-agent NAME --role agent|supervisor|reviewer,
seed-demo, fill-review [--days N]}.

add-agent reads the password from the terminal (not echoed) or, when piped, from the first line of stdin,
never from the command line (where it would land in shell history and the process list)."""
from __future__ import annotations

import argparse
import getpass
import sys
from datetime import timedelta

from configuration.settings import Settings
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import AGENT_ROLES, utc_now
from ledger.policy import load_policy
from ledger.quality_review import QualityReviewBook, load_sampling
from ledger.repository import Ledger
from bot.console.agents import AgentDirectory

# For the demo set-up only (scripts/start.sh, README): change or remove them anywhere real.
DEMO_ACCOUNTS = (("agent1", "agent", "demo-agent-1"), ("supervisor1", "supervisor", "demo-supervisor-1"),
                 ("reviewer1", "reviewer", "demo-reviewer-1"))


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise ValueError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.console", description=__doc__)
    parser.add_argument("--url", help="ledger database URL (default: $COLLECTIONS_LEDGER_DATABASE_URL or var/ledger.sqlite3)")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-agent", help="create a console account")
    add.add_argument("name")
    add.add_argument("--role", choices=AGENT_ROLES, default="agent")
    add.add_argument("--replace", action="store_true", help="reset the role and password of an existing account")
    commands.add_parser("seed-demo", help="create the documented demo agent, supervisor and reviewer if missing; "
                                          "skipped while a real provider is configured")
    fill = commands.add_parser("fill-review", help="choose conversations for quality review (ledger/review.yml)")
    fill.add_argument("--days", type=int, default=2, choices=range(1, 32), metavar="1-31",
                      help="look at conversations of the last N days (default 2; the campaign worker runs it daily)")
    args = parser.parse_args(argv)

    engine = make_engine(args.url or Settings().ledger.url())
    create_schema(engine)
    sessions = make_session_factory(engine)
    agents = AgentDirectory(sessions)
    try:
        if args.command == "fill-review":
            now = utc_now()
            ledger = Ledger(sessions, load_policy(Settings().ledger.policy_file))
            book = QualityReviewBook(sessions, ledger, load_sampling())
            added = book.fill_recent(now, timedelta(days=args.days))
            print(f"{added} conversations added to the review queue")
        elif args.command == "add-agent":
            agent = agents.add(args.name, args.role, _password(), replace=args.replace)
            print(f"agent {agent.name} ({agent.role}) ready")
        elif providers := Settings().contact_providers():
            # Passwords printed in the README must not open a console over real borrowers' conversations.
            print(f"no demo console accounts: a real provider is configured ({', '.join(providers)}); "
                  "create accounts with add-agent")
        else:
            for name, role, password in DEMO_ACCOUNTS:
                if agents.get(name) is None:
                    agents.add(name, role, password)
            print("demo console accounts: " + ", ".join(f"{name} ({role})" for name, role, _ in DEMO_ACCOUNTS))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
