"""Drives Switchboard's MCP gateway with the official Python MCP SDK, a client
nobody here wrote. Used by the end-to-end tests (tests/e2e/gateway.rs).

Environment: GATEWAY_URL, GATEWAY_TOKEN (optional), GATEWAY_CALL and
GATEWAY_ARGS (a tool to call, JSON arguments), GATEWAY_WAIT_CHANGE (seconds to
wait for notifications/tools/list_changed after the first report).

Prints one JSON line `{"server", "tools", "result"?}`; with GATEWAY_WAIT_CHANGE,
a second line `{"changed", "tools"}` after the notification (or the timeout).
Exits 1 with `{"error"}` when the gateway refuses the connection.
"""

import asyncio
import json
import os
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def emit(value):
    print(json.dumps(value), flush=True)


async def main():
    url = os.environ["GATEWAY_URL"]
    token = os.environ.get("GATEWAY_TOKEN")
    call = os.environ.get("GATEWAY_CALL")
    arguments = json.loads(os.environ.get("GATEWAY_ARGS", "{}"))
    wait_change = float(os.environ.get("GATEWAY_WAIT_CHANGE", "0"))

    changed = asyncio.Event()

    async def on_message(message):
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            changed.set()

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode="legacy", message_handler=on_message) as client:
            listed = await client.list_tools()
            report = {"tools": sorted(t.name for t in listed.tools)}
            if call:
                result = await client.call_tool(call, arguments)
                report["result"] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
            emit(report)
            if wait_change > 0:
                try:
                    await asyncio.wait_for(changed.wait(), wait_change)
                except asyncio.TimeoutError:
                    emit({"changed": False})
                    return
                listed = await client.list_tools()
                emit({"changed": True, "tools": sorted(t.name for t in listed.tools)})


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # report what the SDK raised, for the test's message
        emit({"error": repr(e)})
        sys.exit(1)
