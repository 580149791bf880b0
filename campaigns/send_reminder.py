"""Send one chat reminder by hand, as the campaign worker would (with the demo messenger by default, it appears
on the gateway's /demo/inbox). The contact policy is not asked here: this is for trying the messengers out.

    python -m campaigns.send_reminder B000001 [--channel sms|wechat] [--purpose overdue] [--language zh|en]
"""
from __future__ import annotations

import argparse
import asyncio
import sys

from campaigns.chat_links import ChatLinks
from campaigns.messenger import CHANNELS, LANGUAGES, PURPOSES, Invitation, MessengerError, make_messenger
from configuration.settings import Settings
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.repository import Ledger


async def send(settings: Settings, borrower_id: str, channel: str, purpose: str, language: str | None) -> int:
    engine = make_engine(settings.ledger.url())
    create_schema(engine)
    sessions = make_session_factory(engine)
    ledger = Ledger(sessions)
    borrower = ledger.get_borrower(borrower_id)
    messenger = make_messenger(settings, ledger, sessions)
    try:
        invitation = Invitation(borrower_id, channel, language or (borrower.language if borrower else "zh"),  # type: ignore[arg-type]
                                purpose, ChatLinks.from_settings(settings).for_borrower(borrower_id))  # type: ignore[arg-type]
        sent = await messenger.send(invitation)
    except MessengerError as error:
        print(f"not sent: {error.reason}{' (permanent)' if error.permanent else ''}", file=sys.stderr)
        return 1
    finally:
        await messenger.aclose()
        engine.dispose()
    print(f"sent {sent.channel} {sent.provider_message_id}:\n{sent.text}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Send one chat reminder (no debt detail, a signed chat link).")
    parser.add_argument("borrower_id")
    parser.add_argument("--channel", choices=CHANNELS, default="sms")
    parser.add_argument("--purpose", choices=PURPOSES, default="overdue")
    parser.add_argument("--language", choices=LANGUAGES, help="default: the borrower's")
    args = parser.parse_args(argv)
    return asyncio.run(send(Settings(), args.borrower_id, args.channel, args.purpose, args.language))


if __name__ == "__main__":
    sys.exit(main())
