"""An MCP server built with the official Python SDK (2.3) in its default
configuration: it speaks 2026-07-28 (`server/discover`, no session) and the
handshake era (`initialize`) on one Streamable HTTP endpoint.

Used by the client-side era tests (tests/e2e/eras.rs). It listens on a free
loopback port and prints `{"url": ...}` once it accepts connections.

Tools: `echo` answers its `text`; `fail` answers an error result.
"""

import asyncio
import json
import socket
import sys

import uvicorn
from mcp.server.mcpserver import MCPServer

server = MCPServer("python-sdk-fixture")


@server.tool()
def echo(text: str) -> str:
    """Answers the text it was given."""
    return text


@server.tool()
def fail() -> str:
    """Always fails."""
    raise ValueError("the tool failed on purpose")


async def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(server.streamable_http_app(), log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    serving = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:
        if serving.done():
            serving.result()
            return
        await asyncio.sleep(0.02)
    print(json.dumps({"url": f"http://127.0.0.1:{port}/mcp"}), flush=True)
    await serving


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
