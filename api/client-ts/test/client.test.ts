// The client against a running Switchboard (ops/ci/client-ts.sh starts the
// embedded API fuzz server with an MCP fixture): SWITCHBOARD_URL,
// SWITCHBOARD_TOKEN and MCP_URL.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createSwitchboard, preferWait, type RunEvent } from "../src/index.js";

const env = (name: string): string => {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run ops/ci/client-ts.sh`);
  return value;
};
const switchboard = createSwitchboard({ baseUrl: env("SWITCHBOARD_URL"), token: env("SWITCHBOARD_TOKEN") });
const { api } = switchboard;

test("lists the user's connectors, typed", async () => {
  const { data, error, response } = await api.GET("/api/connectors");
  assert.equal(response.status, 200, JSON.stringify(error));
  assert.ok(Array.isArray(data?.connectors));
  assert.equal(typeof data?.limit, "number");
});

test("tests a connection and streams its steps to the end", async () => {
  const { data: run, response } = await api.POST("/api/connectors/test", {
    body: { name: "Client test", server_url: env("MCP_URL") },
  });
  assert.equal(response.status, 202);
  assert.ok(run);
  const events: RunEvent[] = [];
  for await (const event of switchboard.runEvents(run.id, { timeoutMs: 30_000 })) events.push(event);
  const last = events.at(-1);
  assert.equal(last?.event, "finished", JSON.stringify(events));
  const finished = last?.data as { status: string; steps: { name: string; status: string }[] };
  assert.equal(finished.status, "succeeded");
  assert.ok(finished.steps.some((step) => step.name === "connect" && step.status === "ok"));
  assert.ok(events.every((event) => event.id !== null), "every event has an id to resume from");
});

test("resumes after a dropped stream from the last event it saw, without repeats", async () => {
  // The first event stream is cut after its first event; the client must reconnect with Last-Event-ID.
  const sentLastEventId: (string | null)[] = [];
  const cutting: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.endsWith("/events")) return fetch(request);
    sentLastEventId.push(request.headers.get("Last-Event-ID"));
    const response = await fetch(request);
    if (sentLastEventId.length > 1 || !response.body) return response;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("\n\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
    const first = text.slice(0, text.indexOf("\n\n") + 2);
    return new Response(first, { status: response.status, headers: response.headers });
  };
  const dropping = createSwitchboard({ baseUrl: env("SWITCHBOARD_URL"), token: env("SWITCHBOARD_TOKEN"), fetch: cutting });
  const { data: run } = await dropping.api.POST("/api/connectors/test", {
    body: { name: "Client test", server_url: env("MCP_URL") },
  });
  assert.ok(run);
  const events: RunEvent[] = [];
  for await (const event of dropping.runEvents(run.id, { timeoutMs: 30_000 })) events.push(event);
  assert.equal(events.at(-1)?.event, "finished", JSON.stringify(events));
  assert.ok(sentLastEventId.length >= 2 && sentLastEventId[1] === events[0]?.id, JSON.stringify(sentLastEventId));
  const ids = events.map((event) => Number(event.id));
  assert.deepEqual(ids, [...new Set(ids)].sort((a, b) => a - b), "each event once, in order");
});

test("Prefer: wait answers with the finished run", async () => {
  const { data: run, response } = await api.POST("/api/connectors/test", {
    body: { name: "Client test", server_url: env("MCP_URL") },
    ...preferWait(10),
  });
  assert.equal(response.status, 200);
  assert.ok(run?.finished_at, JSON.stringify(run));
  assert.equal(run.status, "succeeded");
});

test("calls a tool of a saved connector and waits for the result", async () => {
  const { data: saved, response } = await api.POST("/api/connectors", {
    body: { name: `Typed ${Date.now()}`, server_url: env("MCP_URL"), tool_policy: "allow" },
  });
  assert.equal(response.status, 201);
  assert.ok(saved);
  // The catalog's entries are free-form in the document (OpenAI's function format).
  type Entry = { function: { name: string }; "x-switchboard": { source: { id: string }; tool: string } };
  const { data: catalog } = await api.GET("/api/agent/tools");
  const tool = (catalog as { tools: Entry[] }).tools.find(
    (t) => t["x-switchboard"].source.id === saved.id && t["x-switchboard"].tool === "tool_1",
  )?.function.name;
  assert.ok(tool, JSON.stringify(catalog));
  const { data: call } = await api.POST("/api/agent/invocations", {
    body: { tool, arguments: { text: "from TypeScript" } },
    ...preferWait(20),
  });
  assert.equal(call?.status, "succeeded", JSON.stringify(call));
  const result = call?.result as { structuredContent?: { arguments?: { text?: string } } };
  assert.equal(result.structuredContent?.arguments?.text, "from TypeScript");
  await api.DELETE("/api/connectors/{id}", { params: { path: { id: saved.id } } });
});

test("reads events whose CRLF line ends are split across chunks", async () => {
  const chunks = ['id: 1\r\nevent: run\r\ndata: {"a":1}\r', "\n\r", '\nid: 2\r\nevent: finished\r\ndata: {"b":2}\r\n\r\n'];
  const asked: string[] = [];
  const fake: typeof fetch = async (input) => {
    asked.push(String(input));
    return new Response(
      new ReadableStream({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
          controller.close();
        },
      }),
      { headers: { "Content-Type": "text/event-stream" } },
    );
  };
  const offline = createSwitchboard({ baseUrl: "http://switchboard.invalid/prefix", token: "t", fetch: fake });
  const events: RunEvent[] = [];
  for await (const event of offline.runEvents("r1")) events.push(event);
  assert.deepEqual(events, [
    { id: "1", event: "run", data: { a: 1 } },
    { id: "2", event: "finished", data: { b: 2 } },
  ]);
  assert.deepEqual(asked, ["http://switchboard.invalid/prefix/api/runs/r1/events"], "the base URL's path is kept");
});
