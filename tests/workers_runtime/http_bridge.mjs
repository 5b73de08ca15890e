// node:http <-> WHATWG Request/Response, standing in for the Cloudflare edge in front of a Worker.
//
// Incoming: the Worker sees an absolute URL, the client's headers (minus hop-by-hop ones) and
// CF-Connecting-IP (the socket peer unless the client already sent one, so tests can play
// several client addresses). Outgoing: the Response body is written chunk by chunk as the
// Worker's stream yields it, each chunk flushed at once, so SSE events arrive one by one.
// Like the edge, a body whose Content-Encoding is gzip/deflate/br is encoded on the way out
// (fetch() hands the Worker decoded bodies but keeps the header).

import zlib from "node:zlib";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);

async function readBody(req, limitBytes) {
  const chunks = [];
  let total = 0;
  for await (const chunk of req) {
    total += chunk.length;
    if (total > limitBytes) {
      throw Object.assign(new Error("request body too large"), { status: 413 });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Build the WHATWG Request a Worker would receive for this node:http request. With
 * `sharedOrigin` (several edge locations serving one hostname) the Worker sees that origin
 * whichever port the request came in on.
 */
export async function toWorkerRequest(
  req,
  { origin, sharedOrigin, bodyLimitBytes = 100 * 1024 * 1024 },
) {
  const base = sharedOrigin ?? `http://${req.headers.host ?? new URL(origin).host}`;
  const url = new URL(req.url, base);
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    if (!HOP_BY_HOP.has(name.toLowerCase())) {
      headers.append(name, req.rawHeaders[i + 1]);
    }
  }
  if (sharedOrigin) {
    headers.set("host", url.host);
  }
  if (!headers.has("cf-connecting-ip")) {
    headers.set("cf-connecting-ip", req.socket.remoteAddress ?? "127.0.0.1");
  }
  const method = req.method.toUpperCase();
  const init = { method, headers, redirect: "manual" };
  if (method !== "GET" && method !== "HEAD") {
    init.body = await readBody(req, bodyLimitBytes);
  } else {
    req.resume();
  }
  return new Request(url, init);
}

function encoderFor(contentEncoding) {
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH };
  switch ((contentEncoding ?? "").trim().toLowerCase()) {
    case "gzip":
      return zlib.createGzip(flush);
    case "deflate":
      return zlib.createDeflate(flush);
    case "br":
      return zlib.createBrotliCompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH });
    default:
      return null;
  }
}

function responseHeaders(response, encoded) {
  const out = [];
  for (const [name, value] of response.headers) {
    if (name === "set-cookie" || HOP_BY_HOP.has(name)) continue;
    if (encoded && name === "content-length") continue;
    out.push([name, value]);
  }
  for (const cookie of response.headers.getSetCookie()) {
    out.push(["set-cookie", cookie]);
  }
  return out;
}

/** Write a chunk and resolve once it has been handed to the socket (honours backpressure). */
function writeChunk(stream, chunk) {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Send a Worker's Response to the client, streaming its body as it arrives.
 * Resolves when the body is fully sent or the client went away.
 */
export async function sendWorkerResponse(res, response, extraHeaders = []) {
  const encoder = response.body ? encoderFor(response.headers.get("content-encoding")) : null;
  const headers = [...responseHeaders(response, encoder !== null), ...extraHeaders];
  res.writeHead(response.status, response.statusText || undefined, headers.flat());
  res.flushHeaders();
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  let clientGone = false;
  res.on("close", () => {
    if (!res.writableFinished) {
      clientGone = true;
      reader.cancel("client disconnected").catch(() => {});
    }
  });
  let sink = res;
  if (encoder) {
    encoder.pipe(res);
    sink = encoder;
  }
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || clientGone) break;
      await writeChunk(sink, value);
      if (encoder) encoder.flush();
    }
  } catch (error) {
    if (!clientGone) {
      res.destroy(error);
    }
    return;
  }
  sink.end();
}
