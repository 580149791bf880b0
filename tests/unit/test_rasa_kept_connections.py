"""rasa_runtime/kept_connections.py: Rasa's calls to an HTTP endpoint (as to the action server) reuse one connection,
keep the endpoint's headers, and go on over a new connection after the server restarts or the idle connection was
closed. Runs in Rasa's own environment (.venv-rasa) against a real aiohttp server on loopback."""
from __future__ import annotations

from tests.rasa_script import run_in_rasa

CALLS = r"""
import asyncio, json
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig
from rasa_runtime import kept_connections

kept_connections.KEEPALIVE_SECONDS = 0.5
kept_connections.install()
peers, headers = [], []

async def webhook(request):
    peers.append(request.transport.get_extra_info("peername")[1])
    headers.append(request.headers.get("Authorization"))
    return web.json_response({"echo": (await request.json())["n"]})

async def serve(port):
    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]

async def main():
    runner, port = await serve(0)
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"Authorization": "Bearer t"})
    echoes = [(await endpoint.request(json={"n": n}, method="post"))["echo"] for n in range(3)]
    first_three = len(set(peers))
    await asyncio.sleep(1.0)  # past the kept connection's idle time
    echoes.append((await endpoint.request(json={"n": 3}, method="post"))["echo"])
    after_idle = len(set(peers))
    await runner.cleanup()
    runner, _ = await serve(port)  # the server restarted on the same port
    echoes.append((await endpoint.request(json={"n": 4}, method="post"))["echo"])
    after_restart = len(set(peers))
    await runner.cleanup()
    print(json.dumps({"echoes": echoes, "connections": [first_three, after_idle, after_restart],
                      "headers": sorted(set(headers))}))

asyncio.run(main())
"""


def test_calls_share_a_connection_and_go_on_after_idle_close_and_restart():
    [result] = run_in_rasa(CALLS)
    assert result["echoes"] == [0, 1, 2, 3, 4]
    assert result["connections"] == [1, 2, 3]
    assert result["headers"] == ["Bearer t"]
