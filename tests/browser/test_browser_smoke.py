"""The browser fixtures reach the real gateway: Chromium loads a page the gateway serves."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser


def test_chromium_reaches_the_gateway(stack, page, screenshot):
    response = page.goto(f"{stack.gateway_url}/health")
    assert response is not None and response.status == 200
    health = json.loads(page.inner_text("body"))
    assert health["status"] == "ok" and "state" in health["rasa_circuit"]
    assert screenshot(page, "health").stat().st_size > 0
