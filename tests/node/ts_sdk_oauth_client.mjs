// The official MCP TypeScript SDK (@modelcontextprotocol/sdk) as an OAuth client, headless.
//
// Usage: node ts_sdk_oauth_client.mjs MCP_URL TEXT
// Runs the SDK's own flow (OAuthClientProvider: discovery, dynamic registration, PKCE), with
// a loopback callback server on 127.0.0.1. Where a desktop client would open a browser it
// prints one JSON line {"event": "authorize", "url": ...} and waits for the browser (the
// test) to land on the callback. Then it lists the tools, calls `echo` with TEXT and prints
// {"event": "result", ...}. Exit status 0 only when all of that worked.
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [mcpUrl, text] = process.argv.slice(2);
const CALLBACK_TIMEOUT_MS = 60_000;

function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

// The loopback callback server (RFC 8252 §7.3): resolves with the redirect's query.
function startCallbackServer() {
  let deliver;
  const landed = new Promise((resolve) => (deliver = resolve));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/callback") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": "text/plain" }).end("You can close this window.");
    deliver(url.searchParams);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({ server, landed, port: server.address().port }));
  });
}

class MemoryProvider {
  constructor(redirectUrl) {
    this._redirectUrl = redirectUrl;
    this._state = randomBytes(16).toString("hex");
    this.authorizeUrls = [];
  }
  get redirectUrl() {
    return this._redirectUrl;
  }
  get clientMetadata() {
    return {
      client_name: "cfmcp TypeScript SDK test",
      redirect_uris: [this._redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() {
    return this._state;
  }
  clientInformation() {
    return this._clientInformation;
  }
  saveClientInformation(info) {
    this._clientInformation = info;
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
  }
  redirectToAuthorization(url) {
    this.authorizeUrls.push(url.toString());
    emit({ event: "authorize", url: url.toString() });
  }
  saveCodeVerifier(verifier) {
    this._codeVerifier = verifier;
  }
  codeVerifier() {
    if (!this._codeVerifier) throw new Error("no code verifier saved");
    return this._codeVerifier;
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const { server, landed, port } = await startCallbackServer();
  const provider = new MemoryProvider(`http://127.0.0.1:${port}/callback`);
  const newClient = () => new Client({ name: "cfmcp-ts-sdk-test", version: "1.0.0" });

  // First attempt: the 401 starts the SDK's auth flow, which ends in redirectToAuthorization.
  const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  let unauthorized = false;
  try {
    await newClient().connect(first);
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    unauthorized = true;
  }
  if (!unauthorized) throw new Error("connected without authorizing: the Worker let it in");
  const params = await withTimeout(landed, CALLBACK_TIMEOUT_MS, "the OAuth callback");
  server.close();
  if (params.get("error")) throw new Error(`authorization failed: ${params.get("error")}`);
  if (params.get("state") !== provider.state()) throw new Error("callback state mismatch");
  await first.finishAuth(params.get("code"));

  // Second attempt with the tokens the SDK saved.
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const client = newClient();
  await client.connect(transport);
  const { tools } = await client.listTools();
  const echoed = await client.callTool({ name: "echo", arguments: { text } });
  const tokens = provider.tokens();
  emit({
    event: "result",
    tools: tools.map((tool) => tool.name),
    echo: echoed.content.map((part) => part.text ?? "").join(""),
    client_id: provider.clientInformation()?.client_id ?? null,
    authorize_urls: provider.authorizeUrls,
    iss: params.get("iss"),
    token_type: tokens?.token_type ?? null,
    has_refresh_token: Boolean(tokens?.refresh_token),
    session_id: transport.sessionId ?? null,
  });
  await client.close();
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
