"""schemathesis hooks for ops/ci/api-fuzz.sh.

Valid requests are pointed at what exists on the API fuzz server, so that
they reach more than a 404:
- a connector body's `server_url` becomes a real MCP server on this machine
  (the plain fixture, or the OAuth one for `auth_type: oauth`) and a random
  `test_run_id` is dropped, so a create or update can succeed and the stateful
  phase can follow the new connector;
- half of the tool calls and agent turns name tools of the user's catalog
  (FUZZ_TOOLS), and a turn ends with the user's message.
Invalid requests are sent as generated.
"""

import json
import os
import random

import schemathesis

CONNECTOR_BODIES = {
    ("POST", "/api/connectors"),
    ("PUT", "/api/connectors/{id}"),
    ("POST", "/api/connectors/test"),
    ("POST", "/api/connectors/{id}/test"),
}


TOOLS = json.loads(os.environ.get("FUZZ_TOOLS", "[]"))


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.meta is None or not case.meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    operation = (case.operation.method.upper(), case.operation.path)
    body = case.body
    if operation in CONNECTOR_BODIES:
        oauth = body.get("auth_type") == "oauth"
        body["server_url"] = os.environ["OAUTH_MCP_URL" if oauth else "MCP_URL"]
        body.pop("test_run_id", None)
    elif operation == ("POST", "/api/agent/invocations") and TOOLS and random.random() < 0.5:
        body["tool"] = random.choice(TOOLS)
    elif operation == ("POST", "/api/agent/runs") and TOOLS and random.random() < 0.5:
        body["selected_tools"] = random.sample(TOOLS, k=min(len(TOOLS), len(body.get("selected_tools") or [])))
        if body.get("messages"):
            body["messages"][-1]["role"] = "user"
