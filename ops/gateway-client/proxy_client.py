"""Drives Switchboard's per-connector proxy (/mcp/connectors/{id}) with the
official Python MCP SDK in its default mode (2026-07-28 where the server
speaks it), against the conformance suite's server as the connector. Used by
tests/e2e/proxy.rs.

Environment: PROXY_URL, PROXY_TOKEN (optional), PROXY_MODE (optional, e.g.
`legacy`), PROXY_ELICIT (`accept` answers elicitation; `none` declares no
elicitation capability).

Prints one JSON line: the protocol, the tool names, and what each step
returned (`text`, `resource`, `prompt`, `progress`, `logs`, `elicitation`,
`subscribed`); a step the proxy refused reports `{"error": ...}`. Exits 1 with
`{"error"}` when the connection itself is refused.
"""

import asyncio
import json
import os
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitResult


def emit(value):
    print(json.dumps(value), flush=True)


def texts(result):
    return [c.text for c in result.content if getattr(c, "type", None) == "text"]


async def step(report, name, action):
    try:
        report[name] = await action()
    except Exception as e:  # the refusal is what the test reads
        report[name] = {"error": repr(e)}


async def main():
    url = os.environ["PROXY_URL"]
    token = os.environ.get("PROXY_TOKEN")
    elicit = os.environ.get("PROXY_ELICIT", "accept")
    logs = []
    updated = asyncio.Event()

    async def on_log(params):
        logs.append(params.data)

    async def on_elicit(context, params):
        return ElicitResult(action="accept", content={"username": "proxied", "email": "p@example.com"})

    async def on_message(message):
        if getattr(message, "method", None) == "notifications/resources/updated":
            updated.set()

    options = {"logging_callback": on_log, "message_handler": on_message}
    if elicit == "accept":
        options["elicitation_callback"] = on_elicit
    if os.environ.get("PROXY_MODE"):
        options["mode"] = os.environ["PROXY_MODE"]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with Client(streamable_http_client(url, http_client=http), **options) as client:
            listed = await client.list_tools()
            report = {"protocol": client.protocol_version, "tools": sorted(t.name for t in listed.tools)}

            async def text():
                return texts(await client.call_tool("test_simple_text", {}))

            async def resource():
                read = await client.read_resource("test://static-text")
                return read.contents[0].text

            async def prompt():
                got = await client.get_prompt("test_prompt_with_arguments", {"arg1": "one", "arg2": "two"})
                return got.messages[0].content.text

            async def progress():
                seen = []

                async def on_progress(value, total, message):
                    seen.append(value)

                await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
                return seen

            async def logged():
                await client.call_tool("test_tool_with_logging", {})
                await asyncio.sleep(0.3)
                return list(logs)

            async def elicitation():
                return texts(await client.call_tool("test_elicitation", {"message": "Who are you?"}))

            for name, action in [("text", text), ("resource", resource), ("prompt", prompt),
                                 ("progress", progress), ("logs", logged), ("elicitation", elicitation)]:
                await step(report, name, action)
            if os.environ.get("PROXY_MODE") == "legacy":
                async def subscribed():
                    await client.subscribe_resource("test://watched-resource")
                    await asyncio.wait_for(updated.wait(), 10)
                    return True

                await step(report, "subscribed", subscribed)
            emit(report)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:
        emit({"error": repr(e)})
        sys.exit(1)
