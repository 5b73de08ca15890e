// Serve the seed's JavaScript Worker (../shared/peers/seed-worker/worker.js) in workerd via
// miniflare, for benchmarks/workerd_vs_seed.py. Not a cfmcp command; the seed is a speed peer,
// run as its README says (modules, compatibility date 2025-01-01, KV namespace OAUTH_KV).
//
//   node seed_worker.mjs MINIFLARE_PACKAGE_DIR WORKER_JS PORT < bindings.json
//
// The bindings (BASE_URL, UPSTREAM_MCP, UPSTREAM_TOKEN, AUTH_PIN) arrive as one JSON object on
// stdin, read to EOF. Prints {"origin": ...} once serving; SIGTERM/SIGINT dispose of workerd.

import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [miniflareDir, scriptPath, port] = process.argv.slice(2);
const bindings = JSON.parse(fs.readFileSync(0, "utf8"));
const pkg = JSON.parse(fs.readFileSync(path.join(miniflareDir, "package.json"), "utf8"));
const { Miniflare, Log, LogLevel } = await import(
  pathToFileURL(path.join(miniflareDir, pkg.main ?? "dist/src/index.js")).href
);

const mf = new Miniflare({
  modules: true,
  scriptPath: path.resolve(scriptPath),
  compatibilityDate: "2025-01-01",
  kvNamespaces: ["OAUTH_KV"],
  bindings,
  cf: false,
  host: "127.0.0.1",
  port: Number(port),
  log: new Log(LogLevel.WARN),
  logRequests: false,
});
const url = await mf.ready;
console.log(JSON.stringify({ origin: url.origin, miniflare: pkg.version }));

const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
