"""Starts the whole system on one machine: action server, Rasa, gateway. Used by scripts/start.sh
and by the end-to-end tests, so both run exactly the same processes."""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable
from pathlib import Path
from urllib.parse import urlparse

import httpx

from bot.links import BorrowerLinks, load_link_key, webchat_demo_url
from campaigns.messenger import check_chat_page
from campaigns.worker import STOP_SECONDS as CAMPAIGN_WORKER_STOP_SECONDS
from configuration.settings import GatewaySettings, Settings
from ledger.db import make_engine, make_session_factory
from ledger.repository import Ledger

ROOT = Path(__file__).resolve().parents[1]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
APP_PYTHON = ROOT / ".venv" / "bin" / "python"
# Loading the model builds the TensorFlow graphs: about 40 s on a quiet 2-core box, several minutes on a busy one.
RASA_START_TIMEOUT_SECONDS = 600
WS_PING_TIMEOUT_SECONDS = 60
# Stopping: every service gets SIGTERM at once and this long to finish; what is left is killed. The campaign worker
# gets its own stop time: it lets the contacts it is making finish, and one killed between its claim and its outcome
# would stay claimed and never be made.
STOP_GRACE_SECONDS = 3.0
SERVICE_STOP_GRACE_SECONDS = {"campaigns": CAMPAIGN_WORKER_STOP_SECONDS}


@dataclass
class StackConfig:
    model: Path
    rasa_port: int = 5005
    # Rasa replicas on rasa_port, rasa_port + 1, ...; more than one needs redis_url (shared tracker and lock store).
    rasa_replicas: int = 1
    action_port: int = 5055
    gateway_port: int = 8000
    redis_url: str | None = None
    ledger_url: str | None = None
    fixed_now: str | None = None
    rasa_token: str = field(default_factory=lambda: secrets.token_hex(24))
    gateway_rasa_url: str | None = None  # where the gateway reaches Rasa, if not directly (a test's proxy)
    # Rasa presents it to the action server (endpoints.yml); only those two processes are given it.
    action_token: str = field(default_factory=lambda: secrets.token_hex(24))
    log_dir: Path = ROOT / "var" / "logs"
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. COLLECTIONS_* settings a test needs
    # The outbound campaign worker (campaigns/) and the Redis its jobs, locks and contact caps live in (REDIS_URL
    # when None). Off unless asked: a test stack must not start contacting its seeded borrowers.
    campaign_worker: bool = False
    campaign_redis_url: str | None = None
    campaign_metrics_port: int = 9464  # the worker's /metrics (127.0.0.1 unless COLLECTIONS_METRICS_WORKER_HOST)

    def __post_init__(self) -> None:
        if self.rasa_replicas > 1 and not self.redis_url:
            raise ValueError("Rasa replicas share their trackers and locks in Redis: set REDIS_URL")


# Ledger, logs, audit key and anchor, models: whatever the services create is for this user only.
PRIVATE_UMASK = 0o077


def _die_with_parent() -> None:
    """Runs in each child before exec: if the launcher dies (even by SIGKILL), so do the services;
    and every file a service creates is private."""
    os.setsid()
    os.umask(PRIVATE_UMASK)
    if sys.platform.startswith("linux"):
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass  # it finished between the check and the signal


def _redis_env(redis_url: str) -> dict[str, str]:
    """Rasa's Redis tracker/lock store wants host, port, db and password separately."""
    parsed = urlparse(redis_url)
    return {
        "REDIS_HOST": parsed.hostname or "127.0.0.1",
        "REDIS_PORT": str(parsed.port or 6379),
        "REDIS_DB": (parsed.path or "/0").lstrip("/") or "0",
        "REDIS_PASSWORD": parsed.password or "",
    }


def rasa_process_env(replicas: int, cores: int | None = None, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Thread pools for each Rasa replica: the machine's cores shared out among the replicas (TensorFlow's intra- and
    inter-op pools and OpenMP/BLAS, which otherwise each take every core, so two replicas on two cores run four
    pools of two threads against each other), and no access log (Rasa sets Sanic's access logger to ERROR anyway,
    so no line was ever written). A value the operator set in the environment is kept."""
    environ = os.environ if environ is None else environ
    cores = cores or len(os.sched_getaffinity(0))
    threads = str(max(1, cores // max(1, replicas)))
    wanted = {
        "TF_INTRA_OP_PARALLELISM_THREADS": threads,  # read by Rasa (rasa/utils/tensorflow/environment.py)
        "TF_INTER_OP_PARALLELISM_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "SANIC_ACCESS_LOG": "false",
    }
    return {name: value for name, value in wanted.items() if not environ.get(name)}


def _rasa_service(replica: int) -> str:
    return "rasa" if replica == 0 else f"rasa-{replica + 1}"


def _ws_max_message_bytes(env: dict[str, str]) -> int:
    """The gateway setting as the gateway's own environment will give it (validated like every setting)."""
    configured = env.get("COLLECTIONS_GATEWAY_WS_MAX_MESSAGE_BYTES")
    gateway = GatewaySettings(ws_max_message_bytes=configured) if configured else GatewaySettings()
    return gateway.ws_max_message_bytes


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self._processes: list[subprocess.Popen] = []

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    @property
    def rasa_url(self) -> str:
        return self.rasa_urls[0]

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.config.rasa_port + replica}" for replica in range(self.config.rasa_replicas)]

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTIONS_")}
        env.update({
            "PYTHONPATH": str(ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.config.action_port}/webhook",
            "COLLECTIONS_RASA_URL": self.config.gateway_rasa_url or ",".join(self.rasa_urls),
            # Reminders link into this gateway's web chat, whatever its port.
            "COLLECTIONS_MESSENGER_CHAT_PAGE_URL": f"{self.gateway_url}/demo/webchat",
        })
        env.pop("REDIS_URL", None)
        if self.config.redis_url:
            env["REDIS_URL"] = self.config.redis_url
            env.update(_redis_env(self.config.redis_url))
        if self.config.ledger_url:
            env["COLLECTIONS_LEDGER_DATABASE_URL"] = self.config.ledger_url
        if self.config.fixed_now:
            env["COLLECTIONS_GATEWAY_FIXED_NOW"] = self.config.fixed_now
        if self.config.campaign_redis_url:
            env["COLLECTIONS_CAMPAIGNS_REDIS_URL"] = self.config.campaign_redis_url
        env.update(self.config.extra_env)
        return env

    def _spawn(self, name: str, command: list[str], own_env: dict[str, str] | None = None) -> None:
        """`own_env`: settings and secrets for this process alone (through the environment, never argv)."""
        self.config.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.config.log_dir / f"{name}.log"
        log = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        os.fchmod(log.fileno(), 0o600)  # a log left readable by an older version holds conversations too
        process = subprocess.Popen(command, cwd=ROOT, env={**self._env(), **(own_env or {})}, stdout=log,
                                   stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        process.service_name = name  # type: ignore[attr-defined]
        self._processes.append(process)

    def start_action_server(self) -> None:
        self._spawn("actions", [str(APP_PYTHON), "-m", "actions"], {
            "COLLECTIONS_ACTIONS_PORT": str(self.config.action_port),
            "COLLECTIONS_ACTIONS_TOKEN": self.config.action_token,
        })

    def start_rasa(self) -> None:
        for replica in range(self.config.rasa_replicas):
            self._start_rasa_replica(replica)

    def _start_rasa_replica(self, replica: int) -> None:
        endpoints = "endpoints.redis.yml" if self.config.redis_url else "endpoints.yml"
        self._spawn(_rasa_service(replica), [  # the token reaches Rasa in its environment, not its visible arguments
            str(RASA_PYTHON), str(ROOT / "scripts" / "run_rasa.py"), "run", "--enable-api",
            "--interface", "127.0.0.1", "--port", str(self.config.rasa_port + replica),
            "--model", str(self.config.model), "--endpoints", endpoints,
            "--credentials", "credentials.yml", "--cors", "http://127.0.0.1",
        ], {"COLLECTIONS_ACTIONS_TOKEN": self.config.action_token, "COLLECTIONS_RASA_TOKEN": self.config.rasa_token,
            **rasa_process_env(self.config.rasa_replicas, environ=self._env())})

    def start_gateway(self) -> None:
        self._spawn("gateway", [str(APP_PYTHON), "-m", "uvicorn", "--factory", "bot.asgi:create_asgi_app",
                                "--host", "127.0.0.1", "--port", str(self.config.gateway_port),
                                # Open chats and calls must not hold a stop beyond the launcher's grace.
                                "--timeout-graceful-shutdown", "2",
                                # A larger WebSocket message closes the socket (1009) before it is read.
                                "--ws-max-size", str(_ws_max_message_bytes(self._env())),
                                # A carrier's pong is read after every media frame it sent before it; on a loaded box
                                # uvicorn's 20 s deadline closed live calls (1011). A dead peer is still found.
                                "--ws-ping-timeout", str(WS_PING_TIMEOUT_SECONDS)],
                    {"COLLECTIONS_RASA_TOKEN": self.config.rasa_token})  # the action server never needs it

    def start_campaign_worker(self) -> None:
        self._spawn("campaigns", [str(APP_PYTHON), "-m", "campaigns",
                                  "--metrics-port", str(self.config.campaign_metrics_port)])

    def start(self) -> "Stack":
        self.start_action_server()
        self.start_rasa()
        self.start_gateway()
        self.wait_until_ready()
        # Only now: a call the worker placed while Rasa was still loading its model (minutes on a busy machine) would
        # ring out unanswered, or be answered by a bot that cannot talk yet, and count against the borrower's caps.
        if self.config.campaign_worker:
            self.start_campaign_worker()
        return self

    def wait_until_ready(self, services: tuple[str, ...] = ("actions", "gateway", "rasa")) -> None:
        deadline = time.monotonic() + RASA_START_TIMEOUT_SECONDS
        checks = {
            "actions": f"http://127.0.0.1:{self.config.action_port}/health",
            "gateway": f"{self.gateway_url}/health",
        }
        if "rasa" in services:
            checks.update({_rasa_service(replica): f"{url}/status?token={self.config.rasa_token}"
                           for replica, url in enumerate(self.rasa_urls)})
        pending = {name: url for name, url in checks.items() if name.split("-")[0] in services}
        while pending:
            for name, url in list(pending.items()):
                try:
                    response = httpx.get(url, timeout=2)
                    if response.status_code == 200 and (not name.startswith("rasa") or response.json().get("model_file")):
                        pending.pop(name)
                except httpx.HTTPError:
                    pass
            for process in self._processes:
                if process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"a service exited during start-up; see {self.config.log_dir}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"services not ready: {sorted(pending)}; see {self.config.log_dir}")
            if pending:
                time.sleep(1)

    def restart_gateway(self) -> None:
        """For tests that show a gateway restart loses nothing."""
        self._restart("gateway", self.start_gateway)

    def restart_rasa(self) -> None:
        """For tests that show a Rasa restart loses nothing (trackers and locks are in Redis)."""
        self._restart("rasa", lambda: self._start_rasa_replica(0))

    def restart_action_server(self) -> None:
        """For tests that show the action server's crash loses nothing and the conversation goes on."""
        self._restart("actions", self.start_action_server)

    def kill(self, name: str) -> None:
        """SIGKILL to one service's process group, as a crash would do it (fault-injection tests);
        `_restart` starts it again."""
        process = self._service(name)
        _signal_group(process, signal.SIGKILL)
        process.wait()

    def pause(self, name: str, paused: bool = True) -> None:
        """SIGSTOP (or SIGCONT) to one service's process group: a service that hangs, for slow-turn tests."""
        _signal_group(self._service(name), signal.SIGSTOP if paused else signal.SIGCONT)

    def service_pids(self) -> dict[str, int]:
        """Each running service's process (and process group) id."""
        return {p.service_name: p.pid for p in self._processes if p.poll() is None}  # type: ignore[attr-defined]

    def _service(self, name: str) -> subprocess.Popen:
        return next(p for p in self._processes if getattr(p, "service_name", None) == name)

    def _restart(self, name: str, start: Callable[[], None]) -> None:
        """Call it from a thread that outlives the service: a child gets SIGTERM when the thread that
        started it ends (PR_SET_PDEATHSIG), e.g. an asyncio.to_thread worker when its loop closes."""
        process = self._service(name)
        self._processes.remove(process)
        self._stop_all([process])
        start()
        self.wait_until_ready()

    @staticmethod
    def _stop_all(processes: list[subprocess.Popen]) -> None:
        """SIGTERM to every process group at once, each its service's grace period from then, then SIGKILL."""
        running = [process for process in processes if process.poll() is None]
        for process in running:
            _signal_group(process, signal.SIGTERM)
        signalled = time.monotonic()
        for process in running:
            grace = SERVICE_STOP_GRACE_SECONDS.get(getattr(process, "service_name", ""), STOP_GRACE_SECONDS)
            try:
                process.wait(timeout=max(0.0, signalled + grace - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()

    def stop(self) -> None:
        self._stop_all(self._processes)
        self._processes.clear()



DEMO_BORROWER = "B000001"  # 张伟, ID last four 3821 (ledger.seed)


def _demo_borrower_seeded(settings: Settings) -> bool:
    """Whether the start command seeded the demo portfolio: a lender's imported one has no 张伟 to chat as."""
    engine = make_engine(settings.ledger.url())
    try:
        borrower = Ledger(make_session_factory(engine)).get_borrower(DEMO_BORROWER)
    finally:
        engine.dispose()
    return borrower is not None and borrower.source == "demo"


def _how_to_reach(gateway_url: str, settings: Settings) -> str:
    """The demo's borrower (when seeded), pages and console accounts; once a provider is real, that they are off
    (bot.app)."""
    providers = settings.contact_providers()
    if providers:
        return (f"Real providers configured ({', '.join(providers)}): no demo borrower, page or console account.\n"
                f"Issue a borrower's chat link with `.venv/bin/python -m bot.links <borrower id>`; create console "
                f"accounts with `.venv/bin/python -m bot.console add-agent NAME --role supervisor`.\n"
                f"REST: POST {gateway_url}/api/conversations {{\"borrower_link\": \"<link>\"}}\n"
                f"Agent console: {gateway_url}/console; quality review: {gateway_url}/console/review\n")
    pages = (f"Demo inbox (reminders while no carrier, SMS or WeChat provider is set): {gateway_url}/demo/inbox\n"
             f"Demo phone (the campaign worker's calls, likewise): {gateway_url}/demo/phone\n"
             f"Agent console: {gateway_url}/console (agent1 / demo-agent-1, supervisor1 / demo-supervisor-1)\n"
             f"Quality review: {gateway_url}/console/review (reviewer1 / demo-reviewer-1, or supervisor1)\n")
    if not _demo_borrower_seeded(settings):
        return (f"The ledger holds your imported portfolio, no demo borrowers: issue a borrower's chat link with\n"
                f"`.venv/bin/python -m bot.links <borrower id> --gateway {gateway_url}` (it prints the web chat too).\n"
                f"REST: POST {gateway_url}/api/conversations {{\"borrower_link\": \"<link>\"}}\n{pages}")
    # Signed with the key the gateway uses (created on its start unless the operator set one).
    link = BorrowerLinks(load_link_key(settings.gateway)).issue(DEMO_BORROWER)
    return (f"Signed chat link for demo borrower 张伟 (ID last four 3821), valid 72 hours; issue others with\n"
            f"`.venv/bin/python -m bot.links <borrower id>`:\n  {link}\n"
            f"Chat in another terminal:\n"
            f"  .venv/bin/python -m bot.chat_cli --gateway {gateway_url} --link {link}\n"
            f"REST: POST {gateway_url}/api/conversations {{\"borrower_link\": \"<link>\"}}\n"
            f"Web chat widget: {webchat_demo_url(gateway_url, link)}\n"
            f"Voice in the browser: {gateway_url}/demo/voice?link={link}\n{pages}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Start the collections assistant on this machine.")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--gateway-port", type=int, default=8000)
    parser.add_argument("--rasa-replicas", type=int, default=1,
                        help="Rasa processes behind the gateway, round-robin (more than one needs REDIS_URL)")
    parser.add_argument("--campaign-redis-url", help="Redis for the campaign worker when REDIS_URL is not set")
    parser.add_argument("--no-campaigns", action="store_true", help="do not start the outbound campaign worker")
    parser.add_argument("--worker-metrics-port", type=int, default=StackConfig.campaign_metrics_port,
                        help="the campaign worker's /metrics port (on COLLECTIONS_METRICS_WORKER_HOST, 127.0.0.1)")
    args = parser.parse_args()
    # The operator's own settings (a Twilio account, a WeChat app, a PostgreSQL ledger) reach every service.
    operator_settings = {name: value for name, value in os.environ.items() if name.startswith("COLLECTIONS_")}
    try:
        config = StackConfig(model=args.model, gateway_port=args.gateway_port, rasa_replicas=args.rasa_replicas,
                             redis_url=os.environ.get("REDIS_URL") or None, campaign_worker=not args.no_campaigns,
                             campaign_redis_url=args.campaign_redis_url,
                             campaign_metrics_port=args.worker_metrics_port, extra_env=operator_settings)
        check_chat_page(Settings())  # before anything starts: real reminders must not link to a demo page
    except ValueError as error:
        parser.error(str(error))
    stack = Stack(config)
    print("Starting action server, Rasa (about a minute to load the model), gateway and campaign worker ...", flush=True)
    stack.start()
    store = "Redis at " + stack.config.redis_url if stack.config.redis_url else "in-memory stores"
    worker_metrics = "" if args.no_campaigns else \
        f" and http://{Settings().metrics.worker_host}:{args.worker_metrics_port}/metrics (the campaign worker)"
    print(f"\nReady: gateway {stack.gateway_url} ({store}); logs in {stack.config.log_dir}\n"
          f"{_how_to_reach(stack.gateway_url, Settings())}"
          f"Prometheus metrics (Authorization: Bearer <the text of var/metrics.key>): {stack.gateway_url}/metrics"
          f"{worker_metrics}\n"
          f"Press Ctrl-C to stop.", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        print("Stopping ...", flush=True)
        started = time.monotonic()
        stack.stop()
        print(f"Stopped every service in {time.monotonic() - started:.1f} s.", flush=True)


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(main())
