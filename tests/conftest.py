"""The real stack's fixtures (tests/stack.py) are a plugin for the whole suite, so the e2e and the browser
tests share one stack per pytest session: one Rasa, one action server, one gateway. So is the simulated month
(tests/month.py): built once for the tests that read it."""
import pytest

pytest_plugins = ["tests.stack", "tests.month"]


def _needs_model(item: pytest.Item) -> bool:
    return "model_path" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in this thread while
    its (session-wide) browser is open, and asyncio tests cannot start their own loop under it. Within each
    part, the tests that need the trained model run after those that do not, which run while it trains."""
    items.sort(key=lambda item: (item.get_closest_marker("browser") is not None, _needs_model(item)))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """A test that needs the model waits for its training outside the test's own timeout (pytest-timeout's
    timer starts inside this wrapper), since training on a loaded machine can outlast it."""
    if _needs_model(item):
        from tests.stack import wait_for_training  # imported once pytest has loaded it as a plugin (assert rewriting)
        wait_for_training()
    yield
