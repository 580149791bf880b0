"""Configuration: one loader for every YAML file (a typo names the file and the key), start-up stops on
a bad file, and the layers keep their direction (the gateway never loads the action server's code)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.handoff.policy import load_handoff_policy
from compliance_filters.contact_policy import load_config as load_contact_policy
from compliance_filters.distress import load_lexicon
from compliance_filters.rules import load_rules
from configuration.files import ConfigFileError
from configuration.settings import ROOT
from ledger.policy import load_policy

SHIPPED = {
    "ledger/policy.yml": load_policy,
    "bot/handoff.yml": load_handoff_policy,
    "compliance_filters/rules.yml": load_rules,
    "compliance_filters/distress.yml": load_lexicon,
    "compliance_filters/contact_policy.yml": load_contact_policy,
}
# One typo per file: (shipped text, misspelt text, the key the error must name).
TYPOS = {
    "ledger/policy.yml": ("    promise_horizon_days: 30", "    promise_horizon_dayz: 30", "tiers.A.promise_horizon_dayz"),
    "bot/handoff.yml": ("compliance_blocks_before_handoff: 2", "compliance_block_before_handoff: 2",
                        "compliance_block_before_handoff"),
    "compliance_filters/rules.yml": ("  violence:", "  violense:", "category 'violense'"),
    "compliance_filters/distress.yml": ("\nnegation:", "\nnegations:", "negations"),
    "compliance_filters/contact_policy.yml": ("    allowed_window:", "    allowed_windw:", "profiles.china.allowed_windw"),
}


def _misspelt_copy(tmp_path: Path, relative: str) -> tuple[Path, str]:
    shipped, misspelt, key = TYPOS[relative]
    text = (ROOT / relative).read_text(encoding="utf-8")
    assert shipped in text, f"{relative} no longer contains {shipped!r}: update the typo table"
    path = tmp_path / Path(relative).name
    path.write_text(text.replace(shipped, misspelt, 1), encoding="utf-8")
    return path, key


@pytest.mark.parametrize("relative", sorted(SHIPPED))
def test_every_shipped_file_loads(relative):
    assert SHIPPED[relative](ROOT / relative) is not None


@pytest.mark.parametrize("relative", sorted(SHIPPED))
def test_a_typo_names_the_file_and_the_key(tmp_path, relative):
    path, key = _misspelt_copy(tmp_path, relative)
    with pytest.raises(ConfigFileError) as error:
        SHIPPED[relative](path)
    assert str(error.value).startswith(f"{path}: ") and key in str(error.value)


@pytest.mark.parametrize("relative", sorted(SHIPPED))
def test_unreadable_and_non_yaml_files_name_the_file(tmp_path, relative):
    missing = tmp_path / "missing.yml"
    with pytest.raises(ConfigFileError, match=f"^{missing}: .*cannot read"):
        SHIPPED[relative](missing)
    broken = tmp_path / "broken.yml"
    broken.write_text("tiers: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=f"^{broken}: .*not valid YAML"):
        SHIPPED[relative](broken)


def _environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTIONS_") and k != "REDIS_URL"}
    env.update(PYTHONPATH=str(ROOT), COLLECTIONS_LEDGER_DATABASE_URL="sqlite://", **settings)
    return env


# The settings that point a process at each configurable file.
FILE_SETTINGS = {
    "ledger/policy.yml": "COLLECTIONS_LEDGER_POLICY_FILE",
    "bot/handoff.yml": "COLLECTIONS_HANDOFF_POLICY_FILE",
    "compliance_filters/contact_policy.yml": "COLLECTIONS_COMPLIANCE_CONTACT_POLICY_FILE",
}


@pytest.mark.parametrize("relative", sorted(FILE_SETTINGS))
def test_the_gateway_does_not_start_with_a_bad_file(tmp_path, relative):
    """The real start command: uvicorn exits during start-up and its output names the file and the key."""
    path, key = _misspelt_copy(tmp_path, relative)
    started = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "bot.asgi:create_asgi_app", "--port", "0"],
        cwd=ROOT, env=_environment(**{FILE_SETTINGS[relative]: str(path)}),
        capture_output=True, text=True, timeout=120,
    )
    assert started.returncode != 0
    assert f"ConfigFileError: {path}: " in started.stderr and key in started.stderr
    assert "Application startup complete" not in started.stderr


@pytest.mark.parametrize("relative", ["ledger/policy.yml", "compliance_filters/contact_policy.yml"])
def test_the_action_server_does_not_start_with_a_bad_file(tmp_path, relative):
    path, key = _misspelt_copy(tmp_path, relative)
    started = subprocess.run(
        [sys.executable, "-m", "actions"],
        cwd=ROOT, env=_environment(COLLECTIONS_ACTIONS_PORT="5099", COLLECTIONS_ACTIONS_TOKEN="test-token",
                                   **{FILE_SETTINGS[relative]: str(path)}),
        capture_output=True, text=True, timeout=120,
    )
    assert started.returncode != 0
    assert f"{path}: " in started.stderr + started.stdout and key in started.stderr + started.stdout


def test_the_action_server_does_not_start_without_rasas_token():
    started = subprocess.run([sys.executable, "-m", "actions"], cwd=ROOT,
                             env=_environment(COLLECTIONS_ACTIONS_PORT="5099"), capture_output=True, text=True, timeout=120)
    assert started.returncode != 0
    assert "COLLECTIONS_ACTIONS_TOKEN is not set" in started.stderr


def test_importing_the_gateway_loads_neither_rasa_sdk_nor_the_actions():
    probe = ("import sys, bot.asgi, bot.app, bot.services, bot.console.routes, bot.handoff.callbacks; "
             "print(sorted(m for m in sys.modules if m == 'rasa_sdk' or m.startswith(('rasa_sdk.', 'actions'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=_environment(),
                            capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


LOWER_LAYERS = ("bot", "compliance_filters", "voice", "ledger", "chinese_text", "english_text", "configuration")


def test_no_lower_layer_imports_the_action_server():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in LOWER_LAYERS for path in (ROOT / folder).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if line.strip().startswith(("from actions", "import actions"))
    ]
    assert offenders == []
