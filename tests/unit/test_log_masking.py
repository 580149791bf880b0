"""bot.log_masking: the gateway's log lines keep neither conversation ids nor query strings, whichever
logger writes them (uvicorn's access and WebSocket lines included) and however the record is formatted."""
from __future__ import annotations

import logging
import uuid

from bot import log_masking
from uvicorn.logging import AccessFormatter


def _formatted(logger_name: str, formatter: logging.Formatter, message: str, *args, exc_info=None) -> str:
    log_masking.install()
    logger = logging.getLogger(logger_name)
    record = logger.makeRecord(logger_name, logging.INFO, __file__, 1, message, args, exc_info)
    return formatter.format(record)


def test_access_lines_keep_the_route_not_the_ids_or_query() -> None:
    conversation_id = uuid.uuid4().hex
    line = _formatted("uvicorn.access", AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'),
                      '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                      f"/api/conversations/{conversation_id}?link=WyJCMDAwMDAxIl0.c2lnbmF0dXJl", "1.1", 200)
    assert conversation_id not in line and "WyJCMDAwMDAxIl0" not in line
    assert f"/api/conversations/{conversation_id[0]}***{conversation_id[-3:]}?link=*** HTTP/1.1" in line
    assert line.endswith("200 OK")  # the status stays a number for the formatter


def test_websocket_lines_exceptions_and_plain_messages_are_masked() -> None:
    conversation_id = uuid.uuid4().hex
    line = _formatted("uvicorn.error", logging.Formatter("%(message)s"), '%s - "WebSocket %s" [accepted]',
                      "('127.0.0.1', 5000)", f"/ws/chat?conversation_id={conversation_id}&x=1")
    assert line.endswith('"WebSocket /ws/chat?conversation_id=***&x=***" [accepted]')
    try:
        raise KeyError(conversation_id)
    except KeyError as error:
        failed = _formatted("bot.gateway", logging.Formatter("%(message)s"), "turn failed: %s", error,
                            exc_info=(type(error), error, error.__traceback__))
    assert conversation_id not in failed and f"{conversation_id[0]}***{conversation_id[-3:]}" in failed
    counted = _formatted("bot.gateway", logging.Formatter("%(message)s"), "%d turns", 3)
    assert counted == "3 turns"
