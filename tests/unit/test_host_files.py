"""What the services write on the host is their user's alone (issue 10, finding 13): the gateway as the
launcher starts it creates the ledger database, its log, the audit key and anchor with no access for
group or others, whatever the umask of whoever ran the launcher."""
from __future__ import annotations

import os
import socket
import stat
from pathlib import Path


from bot.launcher import Stack, StackConfig


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_gateway_creates_its_database_log_and_audit_files_private(tmp_path: Path):
    logs, data = tmp_path / "logs", tmp_path / "data"
    logs.mkdir()
    data.mkdir()
    (logs / "gateway.log").write_text("left readable by an older version\n")
    os.chmod(logs / "gateway.log", 0o644)
    config = StackConfig(
        model=tmp_path / "no-model.tar.gz", rasa_port=_free_port(), gateway_port=_free_port(), log_dir=logs,
        ledger_url=f"sqlite:///{data / 'ledger.sqlite3'}",
        extra_env={"COLLECTIONS_AUDIT_KEY_FILE": str(data / "audit.key"),
                   "COLLECTIONS_AUDIT_ANCHOR_FILE": str(data / "audit.anchor")},
    )
    stack = Stack(config)
    previous_umask = os.umask(0o022)  # a usual login umask: world-readable unless the launcher says otherwise
    try:
        stack.start_gateway()
        stack.wait_until_ready(("gateway",))
    finally:
        stack.stop()
        os.umask(previous_umask)
    created = [logs / "gateway.log", data / "ledger.sqlite3", data / "audit.key"]
    modes = {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in created}
    assert modes == {"gateway.log": "0o600", "ledger.sqlite3": "0o600", "audit.key": "0o600"}
