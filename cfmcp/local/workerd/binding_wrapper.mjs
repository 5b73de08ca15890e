// A wrapped binding (workerd `wrapped`, miniflare `wrappedBindings`) in front of a real one:
// OAUTH_KV (a KV namespace) or EXACT_STATE (a Durable Object namespace). It keeps the binding's
// JS API exactly (the Worker's Python calls `await kv.get(k)`, `kv.put(k, v, expirationTtl=N)`,
// `namespace.get(id).call(op, args)`), and before each operation
//   - waits `latencyMs` (an edge location's KV round trip, for the concurrency tests), and
//   - reports the operation to the runner through the OPS service binding, when bound.
// Inner bindings: INNER (the real binding), OPS (optional service), latencyMs, kind ("kv"|"do").

const KV_OPERATIONS = new Set(["get", "getWithMetadata", "put", "delete", "list"]);

function pause(ms) {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : null;
}

function before(env, name) {
  return async () => {
    const waiting = pause(env.latencyMs ?? 0);
    if (waiting) await waiting;
    if (env.OPS) await env.OPS.fetch(`http://ops/${name}`, { method: "POST" });
  };
}

function forwarding(target, wrap) {
  return new Proxy(target, {
    get(obj, prop) {
      const wrapped = wrap(obj, prop);
      if (wrapped !== undefined) return wrapped;
      const value = obj[prop];
      return typeof value === "function" ? value.bind(obj) : value;
    },
  });
}

function wrapKv(env) {
  const kv = env.INNER;
  return forwarding(kv, (obj, prop) => {
    if (typeof prop !== "string" || !KV_OPERATIONS.has(prop)) return undefined;
    const wait = before(env, `kv_${prop === "getWithMetadata" ? "get" : prop}`);
    return async (...args) => {
      await wait();
      return obj[prop](...args);
    };
  });
}

function wrapStub(env, stub) {
  const wait = before(env, "do_call");
  return forwarding(stub, (obj, prop) => {
    if (typeof prop !== "string" || prop === "then" || prop === "id" || prop === "name") {
      return undefined;
    }
    return async (...args) => {
      await wait();
      return obj[prop](...args);
    };
  });
}

function wrapNamespace(env) {
  const namespace = env.INNER;
  return forwarding(namespace, (obj, prop) => {
    if (prop === "get") return (id, options) => wrapStub(env, obj.get(id, options));
    if (prop === "getByName") return (name, options) => wrapStub(env, obj.getByName(name, options));
    return undefined;
  });
}

export default function (env) {
  return env.kind === "do" ? wrapNamespace(env) : wrapKv(env);
}
