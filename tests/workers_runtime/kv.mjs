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
// Deliberately stricter than KV in one way: an options argument that is a Python dict proxy
// (a dict passed positionally from Python without to_js) is rejected. The real binding would
// read no fields from it and silently store the value without an expiry.

const MAX_KEY_BYTES = 512;
const MIN_TTL_SECONDS = 60;
const MAX_VALUE_BYTES = 25 * 1024 * 1024;
const MAX_LIST_LIMIT = 1000;

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

// The class name matters: the `workers` SDK decides by constructor name whether to wrap a
// binding. The runtime's built-in SDK (compatibility dates before 2026-04-21) hands KV to
// Python raw, so missing keys are jsnull; the PyPI SDK 1.9.5 wraps a class named
// "KvNamespace" (workerd's name) and converts null to None. This name keeps the binding raw;
// `KvNamespace` below has workerd's name, to test the vendored-SDK behaviour.
export class EmulatedKvNamespace {
  /**
   * @param {{isPythonProxy?: (value: unknown) => boolean}} options
   *   isPythonProxy tells a Python object proxy apart from a JS options object.
   */
  constructor({ isPythonProxy = () => false, writeLimit = false } = {}) {
    this.entries = new Map(); // key -> {value: string, expiresAt: number | null (ms)}
    this.lastWrite = new Map(); // key -> ms, when writeLimit is on
    this.clockOffsetMs = 0;
    this.isPythonProxy = isPythonProxy;
    this.writeLimit = writeLimit;
  }

  checkWriteRate(operation, key) {
    if (!this.writeLimit) return;
    const now = Date.now();
    const last = this.lastWrite.get(key);
    if (last !== undefined && now - last < 1000) {
      throw kvError(operation, 429, "Too Many Requests (more than one write per second to a key)");
    }
    this.lastWrite.set(key, now);
  }

  /** The KV clock in ms; tests move it forward to expire keys without waiting. */
  now() {
    return Date.now() + this.clockOffsetMs;
  }

  advanceClock(seconds) {
    this.clockOffsetMs += seconds * 1000;
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

  live(key) {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      return undefined;
    }
    if (entry.expiresAt !== null && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  async get(key, options) {
    checkKey("GET", key);
    const opts = typeof options === "string" ? { type: options } : this.checkOptions("GET", options);
    const entry = this.live(key);
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
        "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.",
      );
    }
    if (utf8.encode(text).length > MAX_VALUE_BYTES) {
      throw kvError("PUT", 413, `Value length exceeds limit of ${MAX_VALUE_BYTES}.`);
    }
    this.checkWriteRate("PUT", key);
    const nowMs = this.now();
    let expiresAt = null;
    if (opts.expirationTtl !== undefined && opts.expirationTtl !== null) {
      const ttl = Number(opts.expirationTtl);
      if (!Number.isFinite(ttl) || ttl < MIN_TTL_SECONDS) {
        throw kvError(
          "PUT",
          400,
          `Invalid expiration_ttl of ${opts.expirationTtl}. Expiration TTL must be at least ${MIN_TTL_SECONDS}.`,
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
          `Invalid expiration of ${opts.expiration}. Expiration times must be at least ${MIN_TTL_SECONDS} seconds in the future.`,
        );
      }
      expiresAt = Math.floor(at) * 1000;
    }
    this.entries.set(key, { value: text, expiresAt });
  }

  async delete(key) {
    checkKey("DELETE", key);
    this.checkWriteRate("DELETE", key);
    this.entries.delete(key);
  }

  async list(options) {
    const opts = this.checkOptions("LIST", options);
    const prefix = opts.prefix ?? "";
    const limit = opts.limit ?? MAX_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw kvError("LIST", 400, `Invalid key_count_limit of ${limit}.`);
    }
    const after = opts.cursor ? Buffer.from(String(opts.cursor), "base64url").toString("utf8") : null;
    const names = [...this.entries.keys()]
      .filter((name) => name.startsWith(prefix) && this.live(name) !== undefined)
      .filter((name) => after === null || compareUtf8(name, after) > 0)
      .sort(compareUtf8);
    const page = names.slice(0, limit);
    const keys = page.map((name) => {
      const { expiresAt } = this.entries.get(name);
      return expiresAt === null ? { name } : { name, expiration: Math.floor(expiresAt / 1000) };
    });
    if (names.length > limit) {
      const cursor = Buffer.from(page[page.length - 1], "utf8").toString("base64url");
      return { keys, list_complete: false, cursor };
    }
    return { keys, list_complete: true };
  }
}

/** The same KV under workerd's class name, which the PyPI `workers` SDK 1.9.5 wraps. */
export class KvNamespace extends EmulatedKvNamespace {}
