"""Drives Switchboard's MCP gateway with the official Python MCP SDK, a client
nobody here wrote. Used by the end-to-end tests (tests/e2e/gateway.rs).

The client runs in the SDK's default mode (it asks `server/discover` and
speaks 2026-07-28 where the server does) unless GATEWAY_MODE=legacy (the
`initialize` handshake, 2025-11-25).

Environment: GATEWAY_URL, GATEWAY_TOKEN (optional), GATEWAY_MODE (optional),
GATEWAY_CALL and GATEWAY_ARGS (a tool to call, JSON arguments),
GATEWAY_WAIT_CHANGE (seconds to wait for notifications/tools/list_changed
after the first report), GATEWAY_ELICIT (`approve` or `deny`: declare
elicitation and answer Switchboard's approval question so; each question's
message is reported under `asked`).

Prints one JSON line `{"protocol", "tools", "descriptions", "schemas", "result"?}`; with
GATEWAY_WAIT_CHANGE, a second line `{"changed", "tools"}` after the
notification (or the timeout). Exits 1 with `{"error"}` when the gateway
refuses the connection.
"""

import asyncio
import json
import os
import sys
from contextlib import AsyncExitStack

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitResult
from mcp.types.version import MODERN_PROTOCOL_VERSIONS


def emit(value):
    print(json.dumps(value), flush=True)


async def main():
    url = os.environ["GATEWAY_URL"]
    token = os.environ.get("GATEWAY_TOKEN")
    call = os.environ.get("GATEWAY_CALL")
    arguments = json.loads(os.environ.get("GATEWAY_ARGS", "{}"))
    wait_change = float(os.environ.get("GATEWAY_WAIT_CHANGE", "0"))

    changed = asyncio.Event()
    elicit = os.environ.get("GATEWAY_ELICIT")
    asked = []

    async def on_elicit(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"decision": elicit})

    async def on_message(message):
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            changed.set()

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    options = {"mode": os.environ["GATEWAY_MODE"]} if os.environ.get("GATEWAY_MODE") else {}
    if elicit:
        options["elicitation_callback"] = on_elicit
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http, AsyncExitStack() as stack:
        transport = streamable_http_client(url, http_client=http)
        client = await stack.enter_async_context(Client(transport, message_handler=on_message, **options))
        # 2026-07-28 sends change notices only on a subscriptions/listen
        # stream; it is open (acknowledged) before the first report.
        if wait_change > 0 and client.protocol_version in MODERN_PROTOCOL_VERSIONS:
            await stack.enter_async_context(client.listen(tools_list_changed=True))
        listed = await client.list_tools()
        report = {
            "protocol": client.protocol_version,
            "tools": sorted(t.name for t in listed.tools),
            "descriptions": {t.name: t.description for t in listed.tools},
            "schemas": {t.name: t.input_schema for t in listed.tools},
        }
        if call:
            result = await client.call_tool(call, arguments)
            report["result"] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
            report["asked"] = asked
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
