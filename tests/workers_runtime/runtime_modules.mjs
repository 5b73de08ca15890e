// Stand-ins for the two JS modules the Workers runtime registers in Pyodide before it imports
// the `workers` SDK (workerd: src/pyodide/python-entrypoint-helper.ts, `setupPatches`).
//
// `_pyodide_entrypoint_helper` — what the SDK reads from it:
//   cloudflareWorkersModule  the `cloudflare:workers` module (`workers.env`, `waitUntil`)
//   cloudflareSocketsModule  `cloudflare:sockets` (not emulated: `connect` throws)
//   doAnImport(name)         dynamic JS import for `workers.import_from_javascript`
//   patchWaitUntil(ctx)      lets ctx.waitUntil accept Python awaitables (called by the SDK on
//                            every WorkerEntrypoint construction)
//   workerEntrypoint         the JS base class of entrypoints (unused by Python code)
// `_cloudflare_compat_flags` — one boolean per compatibility flag in effect.

/** Python-relevant flags in effect for compatibility_date 2026-03-01 + ["python_workers"]. */
export const COMPAT_FLAGS_2026_03_01 = Object.freeze({
  python_workers: true,
  python_workers_20250116: true, // Pyodide 0.28.2 (implied from 2025-09-29)
  python_workflows: true, // implied from 2025-09-20
  python_no_global_handlers: true, // 2025-08-14: only `class Default(WorkerEntrypoint)`
  python_workers_force_new_vendor_path: true, // 2025-08-11
  python_dedicated_snapshot: true, // implied from 2025-10-16
  python_request_headers_preserve_commas: true, // 2026-02-17
  python_workflows_implicit_dependencies: true, // implied from 2026-02-25
  enable_python_external_sdk: false, // only from 2026-04-21
});

/**
 * Keep a promise passed to waitUntil alive and log its failure. A Python awaitable arrives as
 * a borrowed proxy that Pyodide destroys when the call returns, so take a copy first (what the
 * runtime's patchWaitUntil does).
 */
function keepAlive(promise, log) {
  const owned = promise && typeof promise.copy === "function" ? promise.copy() : promise;
  Promise.resolve(owned)
    .catch((error) => log(`waitUntil task failed: ${error}`))
    .finally(() => owned?.destroy?.());
}

/** A minimal ExecutionContext, one per request like the runtime's. */
export function makeExecutionContext(log) {
  return {
    waitUntil: (promise) => keepAlive(promise, log),
    passThroughOnException() {},
  };
}

export function makeEntrypointHelper(env, log) {
  const cloudflareWorkersModule = { env, waitUntil: (promise) => keepAlive(promise, log) };
  const cloudflareSocketsModule = {
    connect() {
      throw new Error("cloudflare:sockets is not emulated by the cfmcp test harness");
    },
  };
  return {
    cloudflareWorkersModule,
    cloudflareSocketsModule,
    async doAnImport(name) {
      if (name === "cloudflare:workers") return cloudflareWorkersModule;
      if (name === "cloudflare:sockets") return cloudflareSocketsModule;
      throw new Error(`the cfmcp test harness cannot import JS module ${JSON.stringify(name)}`);
    },
    patchWaitUntil() {}, // our ExecutionContext already accepts Python awaitables
    workerEntrypoint: class WorkerEntrypoint {},
  };
}
