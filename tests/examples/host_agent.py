"""A host product's agent backend using Switchboard, end to end, with the
Python standard library only (tests/e2e/host.rs runs it):

1. mint a short-lived token for the signed-in user (HS256 with the secret the
   host shares with Switchboard, `SWITCHBOARD_JWT_SECRET`; a host with its own
   identity provider forwards the user's token instead and configures
   `SWITCHBOARD_JWKS_URL`);
2. list the user's catalog in OpenAI's function-calling format
   (`GET /api/agent/tools`), ready to offer a model;
3. call the tool the model chose (`POST /api/agent/invocations` with
   `Prefer: wait`, so the answer is the finished run).

Environment: SWITCHBOARD_URL, SWITCHBOARD_JWT_SECRET, SWITCHBOARD_USER,
SWITCHBOARD_JWT_ISSUER / SWITCHBOARD_JWT_AUDIENCE (when the server requires
them), TOOL (a catalog name) and ARGS (JSON arguments). Prints one JSON line:
`{"tools", "status", "result"}`, or `{"error", "status"}` and exit 1.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(secret: str, user: str, ttl: int = 300) -> str:
    """An HS256 JWT whose `sub` is the user, valid for `ttl` seconds (with
    `iss` and `aud` when the server requires them: SWITCHBOARD_JWT_ISSUER /
    SWITCHBOARD_JWT_AUDIENCE, given here the same way)."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    payload = {"sub": user, "iat": now, "exp": now + ttl}
    for claim, name in (("iss", "SWITCHBOARD_JWT_ISSUER"), ("aud", "SWITCHBOARD_JWT_AUDIENCE")):
        if os.environ.get(name):
            payload[claim] = os.environ[name]
    claims = b64url(json.dumps(payload).encode())
    signing_input = f"{header}.{claims}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{claims}.{b64url(signature)}"


def request(base: str, token: str, method: str, path: str, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    with urllib.request.urlopen(req, timeout=60) as response:
        return json.loads(response.read())


def main() -> None:
    base = os.environ["SWITCHBOARD_URL"].rstrip("/")
    token = mint(os.environ["SWITCHBOARD_JWT_SECRET"], os.environ["SWITCHBOARD_USER"])
    catalog = request(base, token, "GET", "/api/agent/tools")
    functions = [entry["function"] for entry in catalog["tools"]]
    report = {"tools": [f["name"] for f in functions]}
    tool = os.environ.get("TOOL")
    if tool:
        run = request(
            base,
            token,
            "POST",
            "/api/agent/invocations",
            {"tool": tool, "arguments": json.loads(os.environ.get("ARGS", "{}"))},
            {"Prefer": "wait=30"},
        )
        report["status"] = run["status"]
        report["result"] = run.get("result")
        report["error_code"] = run.get("error_code")
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    try:
        main()
    except urllib.error.HTTPError as e:
        print(json.dumps({"error": e.read().decode(errors="replace"), "status": e.code}), flush=True)
        sys.exit(1)
    except (urllib.error.URLError, OSError) as e:
        print(json.dumps({"error": f"Switchboard could not be reached: {e}", "status": None}), flush=True)
        sys.exit(1)
