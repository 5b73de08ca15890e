"""What many tests share: the one OAuth flow driver, the Worker hosts, and fakes.

oauth.py       the OAuth 2.1 flow (register, consent with the PIN, code, tokens) over any sender
hosts.py       start the Worker: `cfmcp dev` on CPython, workerd, the Pyodide harness
deployed.py    deploy to the fake Cloudflare API and talk to the running Worker
local_http.py  a tiny HTTP server on 127.0.0.1 for tests that need one
memory_kv.py   an in-memory KV store with Workers KV rules (the core's unit tests)

The fake Cloudflare API is its own package, tests/fake_cloudflare/.
"""
