#!/usr/bin/env python3
"""A WebSocket server for end-to-end tests (python3-websockets), run as its own process.

Paths:
  /echo     echoes every message back (text stays text, binary stays binary)
  /headers  sends the opening handshake's request headers as one JSON message, then echoes
  /push     sends "push 0".."push 2" without being asked, then echoes
  /close    closes the connection at once with code 1001 "going away"
  /double   answers every message with the message twice over (text or binary)
Prints "ready" once listening.
"""
import argparse
import asyncio
import json

import websockets


async def handler(ws, path=None):
    path = path if path is not None else ws.path
    if path == "/close":
        await ws.close(code=1001, reason="going away")
        return
    if path == "/headers":
        await ws.send(json.dumps([[k, v] for k, v in ws.request_headers.raw_items()]))
    if path == "/push":
        for i in range(3):
            await ws.send("push %d" % i)
    async for message in ws:
        await ws.send(message * 2 if path == "/double" else message)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    async with websockets.serve(handler, "127.0.0.1", args.port, max_size=8 * 1024 * 1024):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
