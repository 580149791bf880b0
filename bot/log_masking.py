"""No conversation ids or credentials in the gateway's logs: uvicorn's access and WebSocket lines carry
request paths (/api/conversations/<id>, /api/console/conversations/<id>/take) and query strings
(?conversation_id=…, ?borrower_link=…, ?link=…). Every log record the gateway process creates is masked
when it is created, whichever logger or handler it goes to: a conversation id keeps its first character
and last three (ledger.references.mask_reference, enough to correlate lines), every query value becomes
'***', and so does the same inside a logged exception's traceback."""
from __future__ import annotations

import logging
import re
from typing import Any

from ledger.references import mask_reference

_CONVERSATION_ID = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])")  # uuid4().hex
_QUERY_VALUE = re.compile(r"([?&][^=&\s\"'#]+=)[^&\s\"'#]+")
_installed = False


def mask_identifiers(text: str) -> str:
    return _CONVERSATION_ID.sub(lambda found: mask_reference(found.group()), _QUERY_VALUE.sub(r"\1***", text))


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_identifiers(value)
    if isinstance(value, (int, float)) or value is None:
        return value  # numbers stay numbers, for %d and %f
    return mask_identifiers(str(value))  # an exception, a URL object: its text is what the log would show


def install() -> None:
    """Masks every record this process creates from now on (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = mask_identifiers(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _masked(value) for key, value in record.args.items()}
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = mask_identifiers(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(masked_record)
