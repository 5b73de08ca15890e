"""The cfmcp Worker core: an OAuth 2.1 authorization server and MCP proxy, stdlib only.

Nothing in this package imports `workers` or `js`: it runs unchanged on CPython 3.11+ (the
local runtime behind `cfmcp dev`, tests) and on the Workers runtime's Pyodide (CPython 3.13).
Hosts adapt their request, storage and fetch primitives to the types in `http_types` and
`kv`, call `WorkerApp.handle`, and carry out any `Forward` decision it returns.
"""
