"""Each Rasa replica's thread pools are its share of the machine's cores (issue 17), and the operator's own
settings win."""
from __future__ import annotations

from pathlib import Path

from bot.launcher import Stack, StackConfig, rasa_process_env

POOLS = ("TF_INTRA_OP_PARALLELISM_THREADS", "TF_INTER_OP_PARALLELISM_THREADS", "OMP_NUM_THREADS")


def test_the_cores_are_shared_out_among_the_replicas_never_below_one_thread():
    assert {rasa_process_env(2, cores=2, environ={})[name] for name in POOLS} == {"1"}
    assert {rasa_process_env(1, cores=2, environ={})[name] for name in POOLS} == {"2"}
    assert {rasa_process_env(2, cores=8, environ={})[name] for name in POOLS} == {"4"}
    assert {rasa_process_env(4, cores=2, environ={})[name] for name in POOLS} == {"1"}
    assert rasa_process_env(1, cores=2, environ={})["SANIC_ACCESS_LOG"] == "false"


def test_a_value_the_operator_set_is_kept():
    chosen = rasa_process_env(2, cores=2, environ={"OMP_NUM_THREADS": "3", "TF_INTRA_OP_PARALLELISM_THREADS": ""})
    assert "OMP_NUM_THREADS" not in chosen  # the process inherits the operator's 3
    assert chosen["TF_INTRA_OP_PARALLELISM_THREADS"] == "1"  # an empty value is no setting


def test_every_replica_is_started_with_them(tmp_path: Path, monkeypatch):
    stack = Stack(StackConfig(model=tmp_path / "m.tar.gz", rasa_replicas=2, redis_url="redis://127.0.0.1:6379/0",
                              log_dir=tmp_path))
    started: list[tuple[str, dict[str, str]]] = []
    monkeypatch.setattr(stack, "_spawn", lambda name, command, own_env=None: started.append((name, own_env or {})))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    stack.start_rasa()
    assert [name for name, _ in started] == ["rasa", "rasa-2"]
    expected = rasa_process_env(2, environ={})
    for _, env in started:
        assert {name: env[name] for name in POOLS} == {name: expected[name] for name in POOLS}
        assert env["COLLECTIONS_RASA_TOKEN"] == stack.config.rasa_token  # beside what it was always given
