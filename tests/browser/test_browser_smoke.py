"""The browser fixtures reach the real gateway: Chromium loads a page the gateway serves."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser


def test_chromium_reaches_the_gateway(stack, page, screenshot):
    response = page.goto(f"{stack.gateway_url}/health")
    assert response is not None and response.status == 200
    assert json.loads(page.inner_text("body")) == {"status": "ok"}
    assert screenshot(page, "health").stat().st_size > 0
