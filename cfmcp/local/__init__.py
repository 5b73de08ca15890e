"""The local runtime behind `cfmcp dev`: the rendered Worker core served on CPython.

Pieces: `kv` (SQLite-backed KV with Workers KV rules), `bundle` (load the core from a
rendered bundle directory), `asgi` (HTTP adapter + streaming proxy), `cimd` (the Client ID
Metadata Document fetcher), `server` (uvicorn wiring) and `demo` (a PAT-only demo upstream).
"""
