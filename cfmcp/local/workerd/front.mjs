// The entry in front of the Python Worker, local only: answers only requests addressed to this
// machine by address (DNS rebinding), as the python runtime does (cfmcp/local/asgi.py): the
// Host must be localhost or an IP address, with any port; anything else gets a 421. Every
// other request goes to the Worker untouched through the WORKER service binding.

const REFUSED = "this server answers only its own address (127.0.0.1, localhost or [::1] with its port)\n";

function hostIsThisServer(url) {
  const name = url.hostname.toLowerCase();
  // The URL parser has already normalised IPv4 forms to dotted decimal, IPv6 to [..].
  return name === "localhost" || name.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(name);
}

export default {
  async fetch(request, env) {
    if (!hostIsThisServer(new URL(request.url))) {
      return new Response(REFUSED, {
        status: 421,
        headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
      });
    }
    return env.WORKER.fetch(request);
  },
};
