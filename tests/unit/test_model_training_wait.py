"""The test command trains the model while the tests that need none run (scripts/test.sh); the tests that need it
wait for the training's status and fail loudly when it failed or died."""
from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from tests import stack


@pytest.fixture
def training(tmp_path, monkeypatch):
    monkeypatch.delenv("COLLECTIONS_TEST_MODEL", raising=False)
    monkeypatch.setenv(stack.TRAINING_DIRECTORY_ENV, str(tmp_path))
    monkeypatch.setattr(stack, "TRAINING_POLL_SECONDS", 0.05)
    (tmp_path / "log").write_text("")
    yield tmp_path
    os.environ.pop("COLLECTIONS_TEST_MODEL", None)  # trained_model() sets it for the rest of a session


def _running_shell(directory):
    shell = subprocess.Popen(["sleep", "30"])
    (directory / "pid").write_text(str(shell.pid))
    return shell


def test_the_model_is_taken_once_the_training_ends(training):
    shell = _running_shell(training)

    def finish() -> None:
        time.sleep(0.3)
        (training / "model").write_text("models/collections-0123456789abcdef.tar.gz\n")
        (training / "status").write_text("0\n")
    threading.Thread(target=finish).start()
    started = time.monotonic()
    try:
        assert stack.trained_model() == "models/collections-0123456789abcdef.tar.gz"
    finally:
        shell.kill()
    assert time.monotonic() - started >= 0.3


def test_a_failed_training_fails_with_its_log(training):
    (training / "pid").write_text("0")
    (training / "status").write_text("1\n")
    (training / "log").write_text("rasa train\nInvalidDomain: the domain is not valid\n")
    with pytest.raises(pytest.fail.Exception, match="InvalidDomain"):
        stack.trained_model()


def test_a_training_that_died_without_a_status_fails_instead_of_waiting_for_ever(training):
    shell = subprocess.Popen(["true"])
    shell.wait()
    (training / "pid").write_text(str(shell.pid))
    (training / "log").write_text("Killed\n")
    with pytest.raises(pytest.fail.Exception, match="Killed"):
        stack.trained_model()
