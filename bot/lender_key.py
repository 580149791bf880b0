"""The lender's key for the payments API: `Authorization: Bearer <key>` on every /api/payments request.

The key is COLLECTIONS_GATEWAY_PAYMENTS_API_KEY, or else the text of the key file
COLLECTIONS_GATEWAY_PAYMENTS_API_KEY_FILE (var/payments.key by default: 64 hex characters, created with mode 0600
on first start, refused if other users can read it; bot.key_files). Give the lender that text.
"""
from __future__ import annotations

from bot.key_files import load_bearer_text
from configuration.settings import GatewaySettings


def load_payments_api_key(settings: GatewaySettings) -> str:
    return load_bearer_text(settings.payments_api_key, settings.payments_api_key_file,
                            "COLLECTIONS_GATEWAY_PAYMENTS_API_KEY")
