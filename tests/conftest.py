"""The real stack's fixtures (tests/stack.py) are a plugin for the whole suite, so the e2e and the browser
tests share one stack per pytest session: one Rasa, one action server, one gateway. So is the simulated month
(tests/month.py): built once for the tests that read it."""
pytest_plugins = ["tests.stack", "tests.month"]


def pytest_collection_modifyitems(items) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in this thread while
    its (session-wide) browser is open, and asyncio tests cannot start their own loop under it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
