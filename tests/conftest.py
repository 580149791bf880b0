"""The real stack's fixtures (tests/stack.py) are a plugin for the whole suite, so the e2e and the browser
tests share one stack per pytest session: one Rasa, one action server, one gateway."""
pytest_plugins = ["tests.stack"]
