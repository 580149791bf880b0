"""The lender's key for the payments API: `Authorization: Bearer <key>` on every /api/payments request.

The key is COLLECTIONS_GATEWAY_PAYMENTS_API_KEY, or else the text of the key file
COLLECTIONS_GATEWAY_PAYMENTS_API_KEY_FILE (var/payments.key by default: 64 hex characters, created with mode 0600
on first start, refused if other users can read it; bot.key_files). Give the lender that text.
"""
from __future__ import annotations

import hashlib
import hmac

from bot.key_files import load_secret_key
from configuration.settings import GatewaySettings


def load_payments_api_key(settings: GatewaySettings) -> str:
    if settings.payments_api_key is not None:
        load_secret_key(settings.payments_api_key, settings.payments_api_key_file,
                        "COLLECTIONS_GATEWAY_PAYMENTS_API_KEY")  # refuses a short key
        return settings.payments_api_key.get_secret_value()
    return load_secret_key(None, settings.payments_api_key_file, "COLLECTIONS_GATEWAY_PAYMENTS_API_KEY").hex()


class LenderKey:
    def __init__(self, key: str) -> None:
        # Digests of equal length: the comparison takes the same time whatever was presented, even its length.
        self._digest = hashlib.sha256(key.encode("utf-8")).digest()

    def admits(self, presented: str | None) -> bool:
        if not presented:
            return False
        return hmac.compare_digest(hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest(), self._digest)
