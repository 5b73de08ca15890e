// Runs one `execute` snippet of deploy-with-claude.md the way the Cloudflare API MCP server's
// `execute` tool runs it (github.com/cloudflare/mcp, src/executor.ts, read 2026-02): the code is
// an async arrow function called with `cloudflare.request(...)` and `accountId` in scope; the
// request helper resolves `path` against the API base, sends JSON bodies as JSON (or `body` as is
// with `rawBody`), throws "Cloudflare API error: CODE: message" when `success` is false and
// returns `{success, status, result: text}` for answers that are not JSON. Outbound requests
// may only go to the API host (the server answers others with 403) and carry the token, which
// the code never sees.
//
// Usage: CF_API_BASE=... CF_API_TOKEN=... CF_ACCOUNT_ID=... node cf_execute.mjs SNIPPET_FILE
// Prints {"result": ...} or {"error": "..."} as JSON.
import { readFileSync } from "node:fs";

const apiBase = process.env.CF_API_BASE;
const token = process.env.CF_API_TOKEN;
const accountId = process.env.CF_ACCOUNT_ID;
const apiHost = new URL(apiBase).host;
const realFetch = globalThis.fetch;

globalThis.fetch = async (input, init = {}) => {
  const url = new URL(typeof input === "string" ? input : input.url);
  if (url.host !== apiHost) {
    return new Response(`Forbidden: requests to ${url.host} are not allowed`, { status: 403 });
  }
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return realFetch(url, { ...init, headers });
};

const cloudflare = {
  async request({ method, path, query, body, contentType, rawBody }) {
    const url = new URL(apiBase + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers = {};
    if (contentType) headers["Content-Type"] = contentType;
    else if (body && !rawBody) headers["Content-Type"] = "application/json";
    const payload = rawBody ? body : body ? JSON.stringify(body) : undefined;
    const response = await fetch(url.toString(), { method, headers, body: payload });
    if (!(response.headers.get("content-type") ?? "").includes("application/json")) {
      const text = await response.text();
      if (!response.ok) throw new Error(`Cloudflare API error: ${response.status} ${text}`);
      return { success: true, status: response.status, result: text };
    }
    const data = await response.json();
    if (!data.success) {
      const errors = (data.errors ?? []).map((e) => `${e.code}: ${e.message}`).join(", ");
      throw new Error(`Cloudflare API error: ${errors}`);
    }
    return { ...data, status: response.status };
  },
};

const code = readFileSync(process.argv[2], "utf8");
const run = new Function("cloudflare", "accountId", `return (${code})();`);
try {
  const result = await run(cloudflare, accountId);
  process.stdout.write(JSON.stringify({ result: result ?? null }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error?.message ?? error) }));
}
