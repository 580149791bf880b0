"""The action server as this project runs it (`python -m actions`): rasa-sdk's own app, bound to the host in
the settings (loopback by default) and answering only a caller that presents the token Rasa holds.

rasa-sdk's CLI binds 0.0.0.0 and checks no caller; anyone who could reach it could post a forged tracker and
run any action. The token travels in a header (endpoints.yml), never in a URL that logs would keep.
"""
from __future__ import annotations

import hmac
import logging
import warnings

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from configuration.settings import ActionServerSettings, Settings

log = logging.getLogger(__name__)

ACTIONS_PACKAGE = "actions"
# The launcher's readiness check carries no token; /health says nothing but "ok".
OPEN_PATHS = frozenset({"/health"})


class MissingTokenError(RuntimeError):
    pass


def _presented_token(request: Request) -> str:
    scheme, _, credentials = (request.headers.get("Authorization") or "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def require_token(app: Sanic, token: str) -> None:
    """Every request but OPEN_PATHS must carry `Authorization: Bearer <token>`; others get 401 before any action."""
    expected = token.encode("utf-8")

    @app.on_request
    async def _check_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        if hmac.compare_digest(_presented_token(request).encode("utf-8"), expected):
            return None
        log.warning("action server refused a request without the right token from %s", request.ip)
        return response.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})


def answer_failures_without_data(app: Sanic) -> None:
    """rasa-sdk answers a failing action with the exception's text and the whole request (the tracker: the
    borrower's words, ID digits, slots), and Rasa writes that answer into rasa.log. Here the answer says only
    that the action failed; rasa-sdk's own log line keeps the traceback (without SQL parameters: ledger.db)."""

    @app.on_response
    async def _without_data(request: Request, answer: HTTPResponse) -> HTTPResponse | None:
        if answer.status < 500:
            return None
        return response.json({"error": "the action failed; see the action server's log"}, status=answer.status)


def configured_token(settings: ActionServerSettings) -> str:
    token = settings.token.get_secret_value() if settings.token else ""
    if not token:
        raise MissingTokenError(
            "COLLECTIONS_ACTIONS_TOKEN is not set: the action server will not start without the token Rasa sends "
            "(bot.launcher generates one per start)")
    return token


# rasa-sdk 3.6, Rasa 3.6's own, does not install on Python 3.11; 3.21 speaks the same action protocol, and
# Rasa 3.6 checks every reply against its own schema (each e2e turn goes through that check). So the SDK's
# blanket "versions A.B differ" warning is silenced for Rasa 3.6 only: any other Rasa still warns.
TESTED_RASA_VERSION_WARNING = (r"Your versions of rasa and rasa_sdk might not be compatible\. "
                               r"You are currently running rasa version 3\.6\.")


def main() -> None:
    # Imported here: rasa-sdk imports every module of this package, this one included, when it registers the
    # actions, and the settings must be checked before the ledger is opened.
    from rasa_sdk import utils
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.executor import ActionExecutor

    settings = Settings().actions
    token = configured_token(settings)
    warnings.filterwarnings("ignore", message=TESTED_RASA_VERSION_WARNING)
    utils.configure_colored_logging(logging.INFO)
    utils.update_sanic_log_level()

    executor = ActionExecutor()
    executor.register_package(ACTIONS_PACKAGE)
    app = create_app(executor, cors_origins=None)
    require_token(app, token)
    answer_failures_without_data(app)
    log.info("action server on http://%s:%d (token required)", settings.host, settings.port)
    app.prepare(host=settings.host, port=settings.port, single_process=True, access_log=False)
    Sanic.serve_single(primary=app)
