// Serve a rendered cfmcp Worker bundle in workerd, Cloudflare's Workers runtime, via miniflare.
// Started by `cfmcp dev --runtime workerd` (cfmcp/local/workerd/process.py); not a user command.
//
//   node runner.mjs --miniflare PKG_DIR --bundle DIR --host H --port P --compatibility-date D
//                   --kv-binding OAUTH_KV --exact-binding EXACT_STATE --exact-class ExactState
//                   --secrets-fd N --ready-fd N [--state DIR] [--pyodide-cache DIR]
//                   [--kv-latency-ms N] [--count-ops] [--exit-on-stdin-eof]
//
// Secrets arrive as one JSON object {BINDING: value} read to EOF from the inherited pipe
// --secrets-fd: never argv, env or disk. They reach workerd inside its config, on its stdin.
// Once serving, one JSON line goes to --ready-fd: {"origin", "control"?, "startup_ms",
// "workerd", "compatibility_date"}; a start-up failure sends {"error", "code"} instead.
// --state DIR persists KV (DIR/kv) and Durable Objects (DIR/do); without it both are in memory.
// --pyodide-cache DIR (holding bundle/ and packages/) is passed to workerd as its Pyodide disk
// caches through a MINIFLARE_WORKERD_PATH wrapper; without it workerd downloads the bundle.
// --kv-latency-ms N makes every KV operation wait N ms first (an edge location's round trip);
// --count-ops counts KV operations and Durable Object calls, served as JSON on "control":
// GET /ops, POST /ops/reset. Both wrap the bindings (binding_wrapper.mjs), keeping their API.
// SIGINT/SIGTERM, and stdin EOF with --exit-on-stdin-eof, end the runner and workerd with it.
// Requests enter through front.mjs (the Host check of the python runtime), then the Worker.

import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORKER_NAME = "cfmcp";
const MAIN_MODULE = "entry.py";
// Compatibility dates that select Pyodide 0.28.2 with the runtime's own `workers` SDK.
const PYODIDE_0_28_DATES = ["2025-09-29", "2026-04-21"];

const { values: opts } = parseArgs({
  options: {
    miniflare: { type: "string" },
    bundle: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    "compatibility-date": { type: "string" },
    "kv-binding": { type: "string" },
    "exact-binding": { type: "string" },
    "exact-class": { type: "string" },
    "secrets-fd": { type: "string" },
    "ready-fd": { type: "string" },
    state: { type: "string" },
    "pyodide-cache": { type: "string" },
    "kv-latency-ms": { type: "string", default: "0" },
    "count-ops": { type: "boolean", default: false },
    "exit-on-stdin-eof": { type: "boolean", default: false },
  },
});

// (Node's children get only the stdio they are given: workerd does not inherit this pipe.)
const readyFd = Number(opts["ready-fd"]);

let reported = false;

function report(message) {
  if (reported) return;
  reported = true;
  fs.writeSync(readyFd, JSON.stringify(message) + "\n");
  fs.closeSync(readyFd);
}

function fail(error, code = "ERR_RUNNER") {
  report({ error, code });
  process.exit(1);
}

function required(name) {
  const value = opts[name];
  if (value === undefined || value === "") fail(`runner: --${name} is required`, "ERR_USAGE");
  return value;
}

function bundleModules(root) {
  const walk = (dir) =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === "__pycache__" ? [] : walk(full);
      return entry.name.endsWith(".py") ? [full] : [];
    });
  const main = path.join(root, MAIN_MODULE);
  if (!fs.existsSync(main)) fail(`${MAIN_MODULE} missing from the bundle ${root}`, "ERR_BUNDLE");
  // workerd wants absolute paths under modulesRoot, the main module first.
  const files = [main, ...walk(root).filter((f) => f !== main).sort()];
  return files.map((file) => ({ type: "PythonModule", path: file, contents: fs.readFileSync(file, "utf8") }));
}

// MINIFLARE_WORKERD_PATH: miniflare runs this instead of workerd. It adds the Pyodide disk
// caches after `serve` and, where setpriv exists, asks the kernel to kill workerd with the
// runner (so a SIGKILLed runner leaves no workerd behind).
function workerdWrapper(workerdBin, cacheDir) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cfmcp-workerd-"));
  const script = path.join(dir, "workerd");
  const quote = (s) => `'${s.replaceAll("'", `'\\''`)}'`;
  const cacheFlag = (flag, sub) => {
    const dir = cacheDir ? path.join(cacheDir, sub) : null;
    return dir && fs.existsSync(dir) ? ` --pyodide-${flag}-disk-cache-dir ${quote(dir)}` : "";
  };
  const cacheFlags = cacheFlag("bundle", "bundle") + cacheFlag("package", "packages");
  fs.writeFileSync(
    script,
    [
      "#!/bin/sh",
      `bin=${quote(workerdBin)}`,
      'pre=""',
      'if command -v setpriv >/dev/null 2>&1 && setpriv --help 2>&1 | grep -q pdeathsig; then',
      '  pre="setpriv --pdeathsig KILL --"',
      "fi",
      'if [ "$1" = serve ]; then',
      "  shift",
      `  exec $pre "$bin" serve${cacheFlags} "$@"`,
      "fi",
      'exec $pre "$bin" "$@"',
      "",
    ].join("\n"),
    { mode: 0o700 },
  );
  return { dir, script };
}

function chooseDate(requested, supported) {
  if (requested <= supported) return requested;
  const [from, until] = PYODIDE_0_28_DATES;
  const same =
    requested >= from && requested < until && supported >= from && supported < until
      ? "; both select Pyodide 0.28.2"
      : "";
  console.error(
    `cfmcp: compatibility date lowered from ${requested} to ${supported} for the local ` +
      `workerd (the newest it supports${same})`,
  );
  return supported;
}

function controlServer(counts) {
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/ops") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(counts));
    } else if (req.method === "POST" && req.url === "/ops/reset") {
      for (const key of Object.keys(counts)) counts[key] = 0;
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })),
  );
}

async function main() {
  const started = performance.now();
  const miniflareDir = required("miniflare");
  const bundleDir = path.resolve(required("bundle"));
  const kvBinding = required("kv-binding");
  const exactBinding = required("exact-binding");
  const exactClass = required("exact-class");
  const secretsFd = Number(required("secrets-fd"));
  const secrets = JSON.parse(fs.readFileSync(secretsFd, "utf8"));
  fs.closeSync(secretsFd);
  const latencyMs = Number(opts["kv-latency-ms"]);
  const countOps = opts["count-ops"];

  const requireFromMiniflare = createRequire(path.join(miniflareDir, "package.json"));
  const miniflarePkg = JSON.parse(fs.readFileSync(path.join(miniflareDir, "package.json"), "utf8"));
  let workerd;
  try {
    workerd = requireFromMiniflare("workerd"); // the binary's path, version, newest date
    fs.accessSync(workerd.default, fs.constants.X_OK);
  } catch (error) {
    fail(
      `miniflare ${miniflarePkg.version} has no runnable workerd for this platform ` +
        `(${String(error?.message ?? error).split("\n")[0]}): reinstall it with npm`,
      "ERR_WORKERD_MISSING",
    );
  }
  const { Miniflare, Log, LogLevel } = await import(
    pathToFileURL(path.join(miniflareDir, miniflarePkg.main ?? "dist/src/index.js")).href
  );

  const wrapper = workerdWrapper(workerd.default, opts["pyodide-cache"]);
  process.env.MINIFLARE_WORKERD_PATH = wrapper.script;
  process.on("exit", () => fs.rmSync(wrapper.dir, { recursive: true, force: true }));

  const modules = bundleModules(bundleDir);
  const counts = { kv_get: 0, kv_put: 0, kv_delete: 0, kv_list: 0, do_call: 0 };
  const control = countOps ? await controlServer(counts) : null;
  const ops = (request) => {
    const name = new URL(request.url).pathname.slice(1);
    if (name in counts) counts[name] += 1;
    return new Response(null, { status: 204 });
  };
  const wrapperSource = fs.readFileSync(path.join(HERE, "binding_wrapper.mjs"), "utf8");
  const wrapperWorker = (name, extra) => ({
    name,
    modules: [{ type: "ESModule", path: path.join(HERE, `${name}.mjs`), contents: wrapperSource }],
    ...(countOps ? { serviceBindings: { OPS: ops } } : {}),
    ...extra,
  });

  const wrapKv = latencyMs > 0 || countOps;
  const wrapExact = countOps;
  const exactDesignator = { className: exactClass, useSQLite: true };
  const worker = {
    name: WORKER_NAME,
    modules,
    modulesRoot: bundleDir,
    compatibilityDate: chooseDate(required("compatibility-date"), workerd.compatibilityDate),
    compatibilityFlags: ["python_workers"],
    bindings: secrets,
    kvNamespaces: wrapKv ? {} : { [kvBinding]: kvBinding },
    // Always bound (a bundle without the class only gets workerd's warning about it).
    durableObjects: wrapExact ? {} : { [exactBinding]: exactDesignator },
    wrappedBindings: {
      ...(wrapKv ? { [kvBinding]: { scriptName: "cfmcp-kv", bindings: { kind: "kv", latencyMs } } } : {}),
      ...(wrapExact ? { [exactBinding]: { scriptName: "cfmcp-exact", bindings: { kind: "do" } } } : {}),
    },
  };
  const front = {
    name: "cfmcp-front",
    modules: [
      {
        type: "ESModule",
        path: path.join(HERE, "front.mjs"),
        contents: fs.readFileSync(path.join(HERE, "front.mjs"), "utf8"),
      },
    ],
    modulesRoot: HERE,
    compatibilityDate: worker.compatibilityDate,
    serviceBindings: { WORKER: WORKER_NAME },
  };
  const workers = [front, worker];
  if (wrapKv) workers.push(wrapperWorker("cfmcp-kv", { kvNamespaces: { INNER: kvBinding } }));
  if (wrapExact) {
    workers.push(
      wrapperWorker("cfmcp-exact", {
        durableObjects: { INNER: { ...exactDesignator, scriptName: WORKER_NAME } },
      }),
    );
  }
  const state = opts.state ? path.resolve(opts.state) : undefined;
  const mf = new Miniflare({
    workers,
    host: opts.host,
    port: Number(opts.port),
    log: new Log(LogLevel.WARN),
    cf: false, // no download of the Request.cf placeholder (offline; nothing here reads it)
    logRequests: false,
    kvPersist: state ? path.join(state, "kv") : false,
    durableObjectsPersist: state ? path.join(state, "do") : false,
  });

  // miniflare's own exit hook SIGKILLs workerd on SIGINT/SIGTERM and on process.exit.
  if (opts["exit-on-stdin-eof"]) {
    process.stdin.on("end", () => process.exit(0)).resume();
  }

  let url;
  try {
    url = await mf.ready;
  } catch (error) {
    fail(String(error?.message ?? error).split("\n")[0], error?.code ?? "ERR_START");
  }
  report({
    origin: url.origin,
    ...(control ? { control: control.url } : {}),
    startup_ms: Math.round(performance.now() - started),
    workerd: workerd.version,
    miniflare: miniflarePkg.version,
    compatibility_date: worker.compatibilityDate,
  });
}

main().catch((error) => {
  console.error(error?.stack ?? error);
  fail(String(error?.message ?? error).split("\n")[0], "ERR_RUNNER");
});
