"""Terminal chat with the assistant over the gateway's WebSocket, opened with a signed borrower link
(`python -m bot.links B000001` prints one)."""
from __future__ import annotations

import argparse
import asyncio
import json
from urllib.parse import urlencode

import websockets


async def chat(gateway: str, link: str) -> None:
    url = gateway.replace("http://", "ws://").replace("https://", "wss://") + "/ws/chat?" + urlencode({"borrower_link": link})
    async with websockets.connect(url) as socket:
        ended = False

        async def print_replies() -> None:
            nonlocal ended
            async for raw in socket:
                frame = json.loads(raw)
                if frame["type"] == "bot":
                    print(f"助手: {frame['text']}")
                elif frame["type"] == "turn_complete" and frame["ended"]:
                    print("（对话已结束）")
                    ended = True
                elif frame["type"] == "error":
                    print(f"[error] {frame['error']}")

        printer = asyncio.create_task(print_replies())
        loop = asyncio.get_running_loop()
        while not ended:
            line = await loop.run_in_executor(None, input, "")
            if line.strip():
                await socket.send(json.dumps({"type": "user", "text": line}, ensure_ascii=False))
            await asyncio.sleep(0.05)
        printer.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--link", required=True, help="the borrower's signed link")
    args = parser.parse_args()
    try:
        asyncio.run(chat(args.gateway, args.link))
    except (KeyboardInterrupt, EOFError):
        pass


if __name__ == "__main__":
    main()
