/**
 * A typed client for Switchboard's HTTP API.
 *
 * - `createSwitchboard({ baseUrl, token })` gives `api`, an openapi-fetch client
 *   typed by the paths in `schema.d.ts` (generated from the server's OpenAPI
 *   document: `npm run generate`), with the bearer token on every request.
 * - `preferWait(seconds)`: request options that ask a POST to answer with the
 *   finished run (`Prefer: wait=N`) instead of 202.
 * - `runEvents(...)`: a run's server-sent events read with `fetch` (an
 *   `EventSource` cannot send a bearer token), resumed with `Last-Event-ID`
 *   after a dropped connection, ending with the run.
 * - `handTokenTo` / `listenToPage`: the web UI's `postMessage` hand-off and the
 *   messages a framed page sends its host (ready, height, changed, tool picked).
 */
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, paths } from "./schema.js";
export type Run = components["schemas"]["RunView"];

export interface SwitchboardOptions {
  /** The server, e.g. `https://switchboard.example.com`. */
  baseUrl: string;
  /** The user's bearer token, or a function that gives a fresh one. */
  token: string | (() => string | Promise<string>);
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
}

export interface Switchboard {
  /** Every route of the API, typed. */
  api: Client<paths>;
  /** A run's events until it ends (see {@link runEvents}). */
  runEvents(runId: string, options?: RunEventOptions): AsyncGenerator<RunEvent>;
}

export function createSwitchboard(options: SwitchboardOptions): Switchboard {
  const api = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });
  api.use({
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${await bearer(options)}`);
      return request;
    },
  });
  return { api, runEvents: (runId, events) => runEvents(options, runId, events) };
}

async function bearer(options: SwitchboardOptions): Promise<string> {
  return typeof options.token === "function" ? options.token() : options.token;
}

/** Options for a POST that may wait for its run: `api.POST(path, { body, ...preferWait(10) })`. */
export function preferWait(seconds: number): { headers: { Prefer: string } } {
  return { headers: { Prefer: `wait=${Math.max(0, Math.floor(seconds))}` } };
}

/** One server-sent event of a run: `run` (the state when the stream opened), a step's news, or `finished`. */
export interface RunEvent {
  id: string | null;
  event: string;
  data: unknown;
}

export interface RunEventOptions {
  /** Stop waiting after this long (default 5 minutes). */
  timeoutMs?: number;
  /** Reconnections in a row without a new event before giving up (default 5). */
  reconnects?: number;
  signal?: AbortSignal;
}

/** Statuses worth asking again after a pause (a 401 fetches a fresh token first). */
const RETRYABLE = new Set([401, 429, 502, 503, 504]);
/** The largest event accepted (a run's snapshot is far smaller). */
const MAX_EVENT_BYTES = 1 << 20;

/**
 * Streams a run's events with `fetch`, resuming after the last event seen
 * (`Last-Event-ID`) when the connection drops or the server asks for a pause
 * (429/5xx, honouring `Retry-After`; backing off otherwise), until the
 * `finished` event; throws when the time or the reconnections run out.
 */
export async function* runEvents(
  options: SwitchboardOptions,
  runId: string,
  { timeoutMs = 300_000, reconnects = 5, signal }: RunEventOptions = {},
): AsyncGenerator<RunEvent> {
  const doFetch = options.fetch ?? fetch;
  const deadline = AbortSignal.timeout(timeoutMs);
  const stop = signal ? AbortSignal.any([signal, deadline]) : deadline;
  const base = options.baseUrl.endsWith("/") ? options.baseUrl : `${options.baseUrl}/`;
  const url = new URL(`api/runs/${encodeURIComponent(runId)}/events`, base);
  let lastId: string | null = null;
  let failures = 0;
  let lastError: unknown = null;
  while (failures <= reconnects) {
    if (failures > 0) await pause(backoff(failures, lastError), stop);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${await bearer(options)}`,
      Accept: "text/event-stream",
    };
    if (lastId !== null) headers["Last-Event-ID"] = lastId;
    let response: Response;
    try {
      response = await doFetch(url, { headers, signal: stop });
    } catch (error) {
      if (stop.aborted) throw error;
      failures += 1;
      lastError = error;
      continue;
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      if (!RETRYABLE.has(response.status)) throw new Error(`the run's events answered ${response.status}`);
      failures += 1;
      lastError = response;
      continue;
    }
    const reader = response.body.getReader();
    try {
      for await (const event of parseEvents(reader)) {
        failures = 0;
        if (event.id !== null) lastId = event.id;
        if (event.data === undefined) continue;
        yield event;
        if (event.event === "finished") return;
      }
      failures += 1; // the stream ended before the run did
    } catch (error) {
      if (stop.aborted || error instanceof SyntaxError || error instanceof EventTooLarge) throw error;
      failures += 1;
      lastError = error;
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
  throw new Error(`the run's event stream dropped ${reconnects + 1} times in a row`);
}

/** How long to wait before asking again: `Retry-After` when the server said, else 0.25 s doubling to 5 s. */
function backoff(failures: number, last: unknown): number {
  const retryAfter = last instanceof Response ? Number(last.headers.get("Retry-After")) : NaN;
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return Math.min(retryAfter, 60) * 1000;
  return Math.min(250 * 2 ** (failures - 1), 5000);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

class EventTooLarge extends Error {}

/**
 * Server-sent events from a stream (`id`, `event` and `data` fields; JSON
 * data). An event with an id but no data still moves the resume point (its
 * `data` is undefined). Line ends may be CRLF, split across chunks.
 */
async function* parseEvents(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<RunEvent | (Omit<RunEvent, "data"> & { data: undefined })> {
  const decoder = new TextDecoder();
  let buffer = "";
  let scanned = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    // A CR at the end may be the first half of a CRLF: normalise it with the next chunk.
    const held = buffer.endsWith("\r") ? 1 : 0;
    const ready = buffer.slice(0, buffer.length - held).replace(/\r\n?/g, "\n");
    buffer = ready + buffer.slice(buffer.length - held);
    let end: number;
    while ((end = buffer.indexOf("\n\n", scanned)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      scanned = 0;
      let id: string | null = null;
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        if (colon === 0) continue;
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") id = text;
        else if (field === "event") event = text;
        else if (field === "data") data.push(text);
      }
      yield { id, event, data: data.length ? JSON.parse(data.join("\n")) : undefined };
    }
    if (buffer.length > MAX_EVENT_BYTES) throw new EventTooLarge("an event over 1 MiB");
    scanned = Math.max(0, buffer.length - 1 - held);
  }
}

/** Hands the web UI in `frame` a token (the host's origin must be in `SWITCHBOARD_UI_TOKEN_ORIGINS`). */
export function handTokenTo(frame: Window, switchboardOrigin: string, token: string): void {
  frame.postMessage({ type: "switchboard-token", token }, switchboardOrigin);
}

/** What a framed Switchboard page tells its host (see the README's "Inside a host product"). */
export type PageMessage =
  | { type: "switchboard-ready" }
  | { type: "switchboard-height"; height: number }
  | { type: "switchboard-changed"; what: "connectors" | "tools" }
  | { type: "switchboard-tool-picked"; tool: string | null };

/**
 * Calls `handler` with each message the Switchboard page at `switchboardOrigin`
 * sends (and nothing from anyone else); returns a function that stops listening.
 */
export function listenToPage(
  target: Pick<Window, "addEventListener" | "removeEventListener">,
  switchboardOrigin: string,
  handler: (message: PageMessage, source: MessageEventSource | null) => void,
): () => void {
  const listener = (event: MessageEvent) => {
    const type = (event.data as { type?: unknown } | null)?.type;
    if (event.origin === switchboardOrigin && typeof type === "string" && type.startsWith("switchboard-")) {
      handler(event.data as PageMessage, event.source);
    }
  };
  target.addEventListener("message", listener);
  return () => target.removeEventListener("message", listener);
}
