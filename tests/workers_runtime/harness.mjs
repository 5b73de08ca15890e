// Serve a rendered cfmcp Worker bundle on 127.0.0.1 under Pyodide, the way the Workers runtime
// runs a Python Worker (compatibility_date 2026-03-01: Pyodide 0.28.2, CPython 3.13.2, the
// `workers` SDK provided by the runtime — here the pinned PyPI workers-runtime-sdk wheel).
//
// Usage: node harness.mjs --bundle DIR [--main entry.py] [--port 0] [--ready-file PATH]
//                         [--measure-cpu] [--control] [--import-profile] [--sdk-wrapped-kv]
//                         [--kv-write-limit] [--locations a,b [--kv-replication-delay 60]]
// --main defaults to `main` in the bundle's wrangler.toml, else entry.py.
// The Worker's env (secrets and vars, all strings) comes as a JSON object in the environment
// variable CFMCP_HARNESS_WORKER_ENV, never on the command line. OAUTH_KV is an in-memory KV.
//
// Once serving, prints `CFMCP_HARNESS_READY {json}` on stdout and writes the same JSON to the
// ready file: {"origin", "pyodide_ms", "sdk_import_ms", "main_import_ms"}.
// --measure-cpu adds `x-harness-python-ms` to each response: the Python execution time of the
//   fetch handler (synchronous slices only; awaits on KV/fetch excluded), and
//   `x-harness-fetch-call-ms`: the part of it spent inside fetch() calls themselves (JS).
// --control serves POST /__harness__/kv-clock?advance=SECONDS (moves the KV clock forward) and
//   GET /__harness__/stats ({"wasm_memory_bytes": the Pyodide heap, which only grows,
//   "kv": {"reads", "writes", "lists"}: KV operations so far, all locations together).
// --import-profile adds "import_profile": [[module, self ms, cumulative ms], ...] to the JSON.
// --sdk-wrapped-kv gives OAUTH_KV workerd's class name, so the SDK wraps it (see kv.mjs).
// --kv-write-limit makes KV refuse a second write to a key within a second (429), like KV.
// --locations a,b runs one isolate per edge location, each on its own port, sharing one KV
//   whose writes reach other locations after --kv-replication-delay seconds (default 60);
//   the JSON then also has "origins": {location: origin}. Every location presents the first
//   origin to the Worker (one hostname served from several places). See kv.mjs.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { sendWorkerResponse, toWorkerRequest } from "./http_bridge.mjs";
import { EmulatedKvNamespace, KvNamespace, KvStore } from "./kv.mjs";
import {
  COMPAT_FLAGS_2026_03_01,
  makeEntrypointHelper,
  makeExecutionContext,
} from "./runtime_modules.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
// Overridable so tests can check the messages for a missing setup.
// The ExactState Durable Object's stand-in: each call is posted to the bundle's own ledger,
// served by tests/workers_runtime/exact_server.py at CFMCP_HARNESS_EXACT_URL.
function exactStateNamespace() {
  const url = process.env.CFMCP_HARNESS_EXACT_URL;
  const call = async (op, argsJson) => {
    if (!url) throw new Error("EXACT_STATE: CFMCP_HARNESS_EXACT_URL is not set");
    const response = await fetch(url, { method: "POST", body: JSON.stringify({ op, args: argsJson }) });
    if (!response.ok) throw new Error(`EXACT_STATE ${op} failed: ${response.status}`);
    return await response.text();
  };
  return { idFromName: (name) => String(name), get: () => ({ call }) };
}

const NODE_DIR = process.env.CFMCP_HARNESS_NODE_DIR ?? path.resolve(HERE, "../node");
const WHEEL_DIR = process.env.CFMCP_HARNESS_WHEEL_DIR ?? path.join(HERE, "wheels");
const SDK_WHEEL_PREFIX = "workers_runtime_sdk-1.9.5-";
const PYODIDE_VERSION = "0.28.2";
const EMULATED_COMPATIBILITY_DATE = "2026-03-01";
const BUNDLE_MOUNT = "/session/metadata"; // where the runtime exposes the Worker's modules
const SETUP_HINT = "run scripts/test once (it downloads the wheel and runs npm ci in tests/node)";

const log = (message) => process.stderr.write(`[harness] ${message}\n`);

class SetupError extends Error {}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      bundle: { type: "string" },
      main: { type: "string" },
      port: { type: "string", default: "0" },
      "ready-file": { type: "string" },
      "measure-cpu": { type: "boolean", default: false },
      control: { type: "boolean", default: false },
      "import-profile": { type: "boolean", default: false },
      "sdk-wrapped-kv": { type: "boolean", default: false },
      "kv-write-limit": { type: "boolean", default: false },
      locations: { type: "string", default: "local" },
      "kv-replication-delay": { type: "string" },
    },
  });
  if (!values.bundle) throw new SetupError("--bundle DIR is required");
  const bundleDir = path.resolve(values.bundle);
  const mainModule = values.main ?? checkWranglerToml(bundleDir)?.main ?? "entry.py";
  if (!fs.existsSync(path.join(bundleDir, mainModule))) {
    throw new SetupError(`main module ${mainModule} not found in bundle ${bundleDir}`);
  }
  const locations = values.locations.split(",").map((name) => name.trim()).filter(Boolean);
  if (locations.length === 0 || new Set(locations).size !== locations.length) {
    throw new SetupError("--locations must name distinct locations, e.g. a,b");
  }
  const rawEnv = process.env.CFMCP_HARNESS_WORKER_ENV ?? "{}";
  const vars = JSON.parse(rawEnv);
  for (const [name, value] of Object.entries(vars)) {
    if (typeof value !== "string") throw new SetupError(`env ${name} must be a string`);
  }
  return {
    bundleDir,
    mainModule,
    port: Number(values.port),
    readyFile: values["ready-file"],
    measureCpu: values["measure-cpu"],
    control: values.control,
    importProfile: values["import-profile"],
    sdkWrappedKv: values["sdk-wrapped-kv"],
    kvWriteLimit: values["kv-write-limit"],
    locations,
    replicationDelaySeconds: Number(values["kv-replication-delay"] ?? (locations.length > 1 ? 60 : 0)),
    vars,
  };
}

/**
 * Read `main`, `compatibility_date` and `compatibility_flags` from the wrangler.toml that
 * `cfmcp render` writes next to the modules (if any), and warn where the harness differs.
 */
function checkWranglerToml(bundleDir) {
  const file = path.join(bundleDir, "wrangler.toml");
  if (!fs.existsSync(file)) return null;
  const text = fs.readFileSync(file, "utf8");
  const value = (key) => text.match(new RegExp(`^${key}\\s*=\\s*(.+)$`, "m"))?.[1]?.trim();
  const main = value("main");
  const date = value("compatibility_date");
  const flags = value("compatibility_flags") ?? "";
  if (date && JSON.parse(date) !== EMULATED_COMPATIBILITY_DATE) {
    log(`wrangler.toml pins compatibility_date ${date}; the harness emulates ` +
        `${EMULATED_COMPATIBILITY_DATE} (Pyodide ${PYODIDE_VERSION}, runtime-provided SDK)`);
  }
  if (!flags.includes('"python_workers"')) {
    log("wrangler.toml lacks compatibility_flags = [\"python_workers\"]: Cloudflare would not run it");
  }
  return { main: main ? JSON.parse(main) : undefined };
}

async function importPyodide() {
  const entry = path.join(NODE_DIR, "node_modules", "pyodide", "pyodide.mjs");
  if (!fs.existsSync(entry)) {
    throw new SetupError(`npm package pyodide is not installed (${entry} missing): ${SETUP_HINT}`);
  }
  const { version } = JSON.parse(
    fs.readFileSync(path.join(NODE_DIR, "node_modules", "pyodide", "package.json"), "utf8"),
  );
  if (version !== PYODIDE_VERSION) {
    throw new SetupError(`pyodide ${version} installed, ${PYODIDE_VERSION} expected: ${SETUP_HINT}`);
  }
  return import(entry);
}

function sdkWheel() {
  const names = fs.existsSync(WHEEL_DIR) ? fs.readdirSync(WHEEL_DIR) : [];
  const wheel = names.find((name) => name.startsWith(SDK_WHEEL_PREFIX) && name.endsWith(".whl"));
  if (!wheel) {
    throw new SetupError(`workers-runtime-sdk 1.9.5 wheel not found in ${WHEEL_DIR}: ${SETUP_HINT}`);
  }
  return path.join(WHEEL_DIR, wheel);
}

/** Copy the bundle's files, as `cfmcp render` wrote them, into the Pyodide file system. */
function copyBundle(pyodide, bundleDir) {
  const walk = (dir) =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === "__pycache__" ? [] : walk(full);
      return entry.isFile() ? [full] : [];
    });
  for (const file of walk(bundleDir)) {
    const moduleName = path.relative(bundleDir, file).split(path.sep).join("/");
    const target = path.posix.join(BUNDLE_MOUNT, moduleName);
    pyodide.FS.mkdirTree(path.posix.dirname(target));
    pyodide.FS.writeFile(target, fs.readFileSync(file));
  }
}

/** One isolate: a Pyodide instance with the Worker imported, bound to `location`'s KV view. */
async function startWorker(options, store, location) {
  const wheelPath = sdkWheel();
  const { loadPyodide } = await importPyodide();
  const started = performance.now();
  const workerLog = (stream) => (line) => process.stderr.write(`[worker ${stream}] ${line}\n`);
  const pyodide = await loadPyodide({ stdout: workerLog("stdout"), stderr: workerLog("stderr") });
  const pyodideMs = performance.now() - started;

  pyodide.unpackArchive(new Uint8Array(fs.readFileSync(wheelPath)), "wheel");
  const KvClass = options.sdkWrappedKv ? KvNamespace : EmulatedKvNamespace;
  const kv = new KvClass({
    store,
    location,
    isPythonProxy: (value) => value instanceof pyodide.ffi.PyProxy,
  });
  // vars and secrets are plain strings; EXACT_STATE stands in for the Durable Object namespace
  const env = { ...options.vars, OAUTH_KV: kv, EXACT_STATE: exactStateNamespace() };
  pyodide.registerJsModule("_pyodide_entrypoint_helper", makeEntrypointHelper(env, log));
  pyodide.registerJsModule("_cloudflare_compat_flags", COMPAT_FLAGS_2026_03_01);

  const supportDir = "/harness";
  pyodide.FS.mkdirTree(supportDir);
  pyodide.FS.writeFile(
    `${supportDir}/_cfmcp_harness.py`,
    fs.readFileSync(path.join(HERE, "harness_runtime.py")),
  );
  pyodide.runPython(`import sys; sys.path.append(${JSON.stringify(supportDir)})`);
  const support = pyodide.pyimport("_cfmcp_harness");

  copyBundle(pyodide, options.bundleDir);
  const sdkImportMs = support.import_sdk();
  const moduleName = options.mainModule.replace(/\.py$/, "").split("/").join(".");
  const imported = support.import_main_module(BUNDLE_MOUNT, moduleName, options.importProfile);
  const mainImportMs = options.importProfile ? imported.ms : imported;
  const importProfile = options.importProfile ? imported.modules : undefined;
  const entrypoint = support.entrypoint_class(moduleName);
  const timings = { pyodideMs, sdkImportMs, mainImportMs, importProfile };
  return { location, pyodide, support, entrypoint, env, store, timings };
}

/**
 * Time spent inside the synchronous part of fetch() calls (undici's JavaScript here, native code
 * in workerd), so --measure-cpu can report it apart. Exact only while requests do not overlap.
 */
const fetchTimer = { ms: 0 };
function timeFetchCalls() {
  const realFetch = globalThis.fetch;
  globalThis.fetch = function timedFetch(...args) {
    const start = performance.now();
    try {
      return realFetch.apply(this, args);
    } finally {
      fetchTimer.ms += performance.now() - start;
    }
  };
}

function workerExceptionResponse() {
  // What the edge answers when a Worker throws (Cloudflare error 1101), marked for tests.
  return new Response("Worker threw exception", {
    status: 500,
    headers: { "content-type": "text/plain", "x-harness-worker-exception": "1" },
  });
}

async function handleControl(req, res, worker) {
  const url = new URL(req.url, "http://harness");
  if (req.method === "POST" && url.pathname === "/__harness__/kv-clock") {
    const seconds = Number(url.searchParams.get("advance"));
    if (!Number.isFinite(seconds) || seconds < 0) {
      res.writeHead(400).end("advance must be a non-negative number of seconds");
      return;
    }
    worker.store.advanceClock(seconds);
    res.writeHead(204).end();
    return;
  }
  if (req.method === "GET" && url.pathname === "/__harness__/stats") {
    const stats = {
      wasm_memory_bytes: worker.pyodide._module.HEAP8.buffer.byteLength,
      kv: worker.store.counts,
    };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(stats));
    return;
  }
  res.writeHead(404).end("unknown harness control endpoint");
}

function serve(worker, options, port) {
  const server = http.createServer(async (req, res) => {
    if (options.control && req.url.startsWith("/__harness__/")) {
      await handleControl(req, res, worker);
      return;
    }
    let request;
    try {
      request = await toWorkerRequest(req, {
        origin: server.origin,
        sharedOrigin: options.sharedOrigin,
      });
    } catch (error) {
      res.writeHead(error.status ?? 400).end(String(error.message));
      return;
    }
    let response = workerExceptionResponse();
    const extraHeaders = [];
    try {
      const ctx = makeExecutionContext(log);
      fetchTimer.ms = 0;
      const outcome = await worker.support.call_fetch(
        worker.entrypoint, ctx, worker.env, request, options.measureCpu,
      );
      const [result, pythonMs] = outcome;
      if (result instanceof Response) {
        response = result;
      } else {
        log(`fetch returned ${Object.prototype.toString.call(result)}, not a Response`);
      }
      if (options.measureCpu) {
        extraHeaders.push(["x-harness-python-ms", pythonMs.toFixed(3)]);
        extraHeaders.push(["x-harness-fetch-call-ms", fetchTimer.ms.toFixed(3)]);
      }
    } catch (error) {
      log(`Worker threw while handling ${req.method} ${req.url}:\n${error.message ?? error}`);
    }
    try {
      await sendWorkerResponse(res, response, extraHeaders);
    } catch (error) {
      log(`sending the response for ${req.method} ${req.url} failed: ${error.message ?? error}`);
      res.destroy();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.origin = `http://127.0.0.1:${server.address().port}`;
      resolve(server);
    });
  });
}

/** Report the first isolate's timings, every location's origin, and write the ready file. */
function announceReady(servers, workers, options) {
  const { pyodideMs, sdkImportMs, mainImportMs, importProfile } = workers[0].timings;
  const info = {
    origin: servers[0].origin,
    pyodide_ms: Number(pyodideMs.toFixed(3)),
    sdk_import_ms: Number(sdkImportMs.toFixed(3)),
    main_import_ms: Number(mainImportMs.toFixed(3)),
  };
  if (workers.length > 1) {
    info.origins = Object.fromEntries(workers.map((w, i) => [w.location, servers[i].origin]));
  }
  if (importProfile) info.import_profile = importProfile;
  const text = JSON.stringify(info);
  if (options.readyFile) {
    const temp = `${options.readyFile}.tmp-${process.pid}`;
    fs.writeFileSync(temp, text);
    fs.renameSync(temp, options.readyFile);
  }
  process.stdout.write(`CFMCP_HARNESS_READY ${text}\n`);
}

async function main() {
  const options = parseOptions();
  if (options.measureCpu) timeFetchCalls();
  const store = new KvStore({
    replicationDelaySeconds: options.replicationDelaySeconds,
    writeLimit: options.kvWriteLimit,
  });
  const workers = [];
  for (const location of options.locations) {
    try {
      workers.push(await startWorker(options, store, location));
    } catch (error) {
      if (error instanceof SetupError) throw error;
      // A Python exception while importing the Worker: the runtime would refuse the upload.
      throw new SetupError(`the Worker failed to start:\n${error.message ?? error}`);
    }
  }
  const servers = [];
  for (const [index, worker] of workers.entries()) {
    servers.push(await serve(worker, options, index === 0 ? options.port : 0));
  }
  if (servers.length > 1) {
    options.sharedOrigin = servers[0].origin; // one hostname, served from every location
  }
  const stop = () => {
    let open = servers.length;
    for (const server of servers) {
      server.close(() => --open === 0 && process.exit(0));
      server.closeAllConnections();
    }
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  announceReady(servers, workers, options);
}

main().catch((error) => {
  log(error instanceof SetupError ? error.message : `fatal: ${error.stack ?? error}`);
  process.exit(error instanceof SetupError ? 2 : 1);
});
