// Drives Switchboard's MCP gateway with the official MCP TypeScript SDK (1.x:
// the 2025-11-25 handshake), like client.py does with the Python SDK. Used by
// the end-to-end tests (tests/e2e/gateway.rs); same environment, same output:
// `{"protocol", "tools", "result"?}`, then `{"changed", "tools"?}` with
// GATEWAY_WAIT_CHANGE; `{"error"}` and exit 1 when the gateway refuses.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const emit = (value) => process.stdout.write(JSON.stringify(value) + '\n');
const env = process.env;
const token = env.GATEWAY_TOKEN;
const call = env.GATEWAY_CALL;
const args = JSON.parse(env.GATEWAY_ARGS ?? '{}');
const waitChange = Number(env.GATEWAY_WAIT_CHANGE ?? '0');

let changed;
const change = new Promise((resolve) => { changed = resolve; });
const transport = new StreamableHTTPClientTransport(new URL(env.GATEWAY_URL), {
  requestInit: { headers: token ? { Authorization: `Bearer ${token}` } : {} },
});
const client = new Client({ name: 'switchboard-gateway-test', version: '1.0.0' });
client.setNotificationHandler(ToolListChangedNotificationSchema, async () => changed());

try {
  await client.connect(transport);
  const names = async () => (await client.listTools()).tools.map((t) => t.name).sort();
  const report = { protocol: transport.protocolVersion, tools: await names() };
  if (call) report.result = await client.callTool({ name: call, arguments: args });
  emit(report);
  if (waitChange > 0) {
    const timeout = new Promise((resolve) => setTimeout(() => resolve(false), waitChange * 1000));
    if (await Promise.race([change.then(() => true), timeout])) emit({ changed: true, tools: await names() });
    else emit({ changed: false });
  }
  await transport.terminateSession().catch(() => {});
  await client.close();
  process.exit(0);
} catch (e) {
  emit({ error: `${e?.name}: ${e?.message ?? e}` });
  process.exit(1);
}
