// An in-memory stand-in for a Workers KV namespace binding, with the contract the Worker
// relies on (developers.cloudflare.com/kv/api/):
//   get(key)                 -> Promise<string | null>  (null for a missing or expired key)
//   put(key, value, options) -> Promise<undefined>      options: {expirationTtl, expiration}
//   delete(key)              -> Promise<undefined>
//   list({prefix, limit, cursor}) -> Promise<{keys: [{name, expiration?}], list_complete, cursor?}>
// Limits enforced like KV: keys are 1..512 UTF-8 bytes and not "." or "..", expirationTtl >= 60,
// absolute expiration >= now + 60, optionally at most one write (put/delete) per second per key
// (KV answers 429 beyond that; off by default), values are strings or bytes (at most 25 MiB; bytes
// are kept as UTF-8 text, enough for a Worker that stores strings).
//
// Edge locations: one `KvStore` holds the data; each isolate gets a binding for its location.
// With a replication delay, a write is visible at once where it was made and elsewhere only
// after the delay, and a location that looked a key up and found nothing keeps answering null
// for the negative-cache time (KV's cacheTtl, 60 s) unless it writes the key itself.
//
// Deliberately stricter than KV in one way: an options argument that is a Python dict proxy
// (a dict passed positionally from Python without to_js) is rejected. The real binding would
// read no fields from it and silently store the value without an expiry.

const MAX_KEY_BYTES = 512;
const MIN_TTL_SECONDS = 60;
const MAX_VALUE_BYTES = 25 * 1024 * 1024;
const MAX_LIST_LIMIT = 1000;
const NEGATIVE_CACHE_MS = 60 * 1000;

const utf8 = new TextEncoder();

function kvError(operation, status, detail) {
  return new Error(`KV ${operation} failed: ${status} ${detail}`);
}

function checkKey(operation, key) {
  if (typeof key !== "string") {
    throw new TypeError(`KV ${operation}: key must be a string, got ${typeof key}`);
  }
  if (key === "") {
    throw kvError(operation, 400, "Key names must not be empty.");
  }
  if (key === "." || key === "..") {
    throw kvError(operation, 400, `Illegal key name "${key}".`);
  }
  const length = utf8.encode(key).length;
  if (length > MAX_KEY_BYTES) {
    throw kvError(
      operation,
      414,
      `UTF-8 encoded length of ${length} exceeds key length limit of ${MAX_KEY_BYTES}.`,
    );
  }
}

function compareUtf8(a, b) {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** The namespace's data, shared by every location's binding. */
export class KvStore {
  constructor({ replicationDelaySeconds = 0, writeLimit = false } = {}) {
    // key -> versions, oldest first: {value: string | null (deleted), expiresAt, writtenAt, location}
    this.versions = new Map();
    this.lastWrite = new Map(); // key -> ms of the last write, for the per-key write limit
    this.negativeCache = new Map(); // `${location}\0${key}` -> ms until which a miss is cached
    this.clockOffsetMs = 0;
    this.replicationDelayMs = replicationDelaySeconds * 1000;
    this.writeLimit = writeLimit;
    this.counts = { reads: 0, writes: 0, lists: 0 }; // operations, for tests and benchmarks
  }

  /** The KV clock in ms; tests move it forward to expire keys without waiting. */
  now() {
    return Date.now() + this.clockOffsetMs;
  }

  advanceClock(seconds) {
    this.clockOffsetMs += seconds * 1000;
  }

  write(operation, key, value, expiresAt, location) {
    this.counts.writes += 1;
    if (this.writeLimit) {
      const last = this.lastWrite.get(key);
      if (last !== undefined && Date.now() - last < 1000) {
        throw kvError(operation, 429, "Too Many Requests (more than one write per second to a key)");
      }
      this.lastWrite.set(key, Date.now());
    }
    const history = this.versions.get(key) ?? [];
    history.push({ value, expiresAt, writtenAt: this.now(), location });
    this.versions.set(key, history.slice(-8));
    this.negativeCache.delete(`${location}\0${key}`);
  }

  /** The entry `location` sees for `key`, or undefined; a get's miss is negatively cached. */
  read(key, location, { cacheMiss = true } = {}) {
    const now = this.now();
    const cacheKey = `${location}\0${key}`;
    if (cacheMiss && (this.negativeCache.get(cacheKey) ?? 0) > now) {
      return undefined;
    }
    const history = this.versions.get(key) ?? [];
    let seen;
    for (let i = history.length - 1; i >= 0; i--) {
      const version = history[i];
      if (version.location === location || now - version.writtenAt >= this.replicationDelayMs) {
        seen = version;
        break;
      }
    }
    const live = seen && seen.value !== null && (seen.expiresAt === null || seen.expiresAt > now);
    if (!live) {
      if (cacheMiss && this.replicationDelayMs > 0) {
        this.negativeCache.set(cacheKey, now + NEGATIVE_CACHE_MS);
      }
      return undefined;
    }
    return seen;
  }

  keys() {
    return [...this.versions.keys()];
  }
}

// The class name matters: the `workers` SDK decides by constructor name whether to wrap a
// binding. The runtime's built-in SDK (compatibility dates before 2026-04-21) hands KV to
// Python raw, so missing keys are jsnull; the PyPI SDK 1.9.5 wraps a class named
// "KvNamespace" (workerd's name) and converts null to None. This name keeps the binding raw;
// `KvNamespace` below has workerd's name, to test the vendored-SDK behaviour.
export class EmulatedKvNamespace {
  /**
   * @param {{store?: KvStore, location?: string, isPythonProxy?: (value: unknown) => boolean}}
   *   options: the shared store, this binding's edge location, and a test telling a Python
   *   object proxy apart from a JS options object.
   */
  constructor({ store = new KvStore(), location = "local", isPythonProxy = () => false } = {}) {
    this.store = store;
    this.location = location;
    this.isPythonProxy = isPythonProxy;
  }

  checkOptions(operation, options) {
    if (options === undefined || options === null) {
      return {};
    }
    if (this.isPythonProxy(options)) {
      throw new TypeError(
        `KV ${operation}: options is a Python object proxy; pass keyword arguments ` +
          "(e.g. expirationTtl=300) or to_js(options, dict_converter=Object.fromEntries)",
      );
    }
    if (typeof options !== "object") {
      throw new TypeError(`KV ${operation}: options must be an object`);
    }
    return options;
  }

  async get(key, options) {
    checkKey("GET", key);
    const opts = typeof options === "string" ? { type: options } : this.checkOptions("GET", options);
    this.store.counts.reads += 1;
    const entry = this.store.read(key, this.location);
    if (entry === undefined) {
      return null;
    }
    const type = opts.type ?? "text";
    if (type === "text") {
      return entry.value;
    }
    if (type === "json") {
      return JSON.parse(entry.value);
    }
    throw new TypeError(`KV GET: type "${type}" is not emulated by the test harness`);
  }

  async put(key, value, options) {
    checkKey("PUT", key);
    const opts = this.checkOptions("PUT", options);
    let text;
    if (typeof value === "string") {
      text = value;
    } else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
      const bytes = value instanceof ArrayBuffer
        ? new Uint8Array(value)
        : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      text = new TextDecoder().decode(bytes);
    } else {
      throw new TypeError(
        "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams " +
          "as values.",
      );
    }
    if (utf8.encode(text).length > MAX_VALUE_BYTES) {
      throw kvError("PUT", 413, `Value length exceeds limit of ${MAX_VALUE_BYTES}.`);
    }
    const nowMs = this.store.now();
    let expiresAt = null;
    if (opts.expirationTtl !== undefined && opts.expirationTtl !== null) {
      const ttl = Number(opts.expirationTtl);
      if (!Number.isFinite(ttl) || ttl < MIN_TTL_SECONDS) {
        throw kvError(
          "PUT",
          400,
          `Invalid expiration_ttl of ${opts.expirationTtl}. ` +
            `Expiration TTL must be at least ${MIN_TTL_SECONDS}.`,
        );
      }
      expiresAt = nowMs + Math.floor(ttl) * 1000;
    }
    if (opts.expiration !== undefined && opts.expiration !== null) {
      const at = Number(opts.expiration);
      if (!Number.isFinite(at) || at * 1000 < nowMs + MIN_TTL_SECONDS * 1000) {
        throw kvError(
          "PUT",
          400,
          `Invalid expiration of ${opts.expiration}. ` +
            `Expiration times must be at least ${MIN_TTL_SECONDS} seconds in the future.`,
        );
      }
      expiresAt = Math.floor(at) * 1000;
    }
    this.store.write("PUT", key, text, expiresAt, this.location);
  }

  async delete(key) {
    checkKey("DELETE", key);
    this.store.write("DELETE", key, null, null, this.location);
  }

  async list(options) {
    const opts = this.checkOptions("LIST", options);
    this.store.counts.lists += 1;
    const prefix = opts.prefix ?? "";
    const limit = opts.limit ?? MAX_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw kvError("LIST", 400, `Invalid key_count_limit of ${limit}.`);
    }
    const after = opts.cursor
      ? Buffer.from(String(opts.cursor), "base64url").toString("utf8")
      : null;
    const visible = this.store
      .keys()
      .filter((name) => name.startsWith(prefix))
      .filter((name) => after === null || compareUtf8(name, after) > 0)
      .map((name) => [name, this.store.read(name, this.location, { cacheMiss: false })])
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => compareUtf8(a, b));
    const page = visible.slice(0, limit);
    const keys = page.map(([name, { expiresAt }]) =>
      expiresAt === null ? { name } : { name, expiration: Math.floor(expiresAt / 1000) },
    );
    if (visible.length > limit) {
      const cursor = Buffer.from(page[page.length - 1][0], "utf8").toString("base64url");
      return { keys, list_complete: false, cursor };
    }
    return { keys, list_complete: true };
  }
}

/** The same KV under workerd's class name, which the PyPI `workers` SDK 1.9.5 wraps. */
export class KvNamespace extends EmulatedKvNamespace {}
