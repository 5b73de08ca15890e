"""`cfmcp logs` and the log lines `cfmcp dev` shows: the Worker's lines read, filtered, shown.

entries.py   a tail event or a printed line -> LogEntry (cfmcp line, other text, exception)
filters.py   --status / --client / --denied, decided per request (tail event)
render.py    a LogEntry as one Rich line for people, or one JSON object for scripts
tail.py      the live tail: create it, read its WebSocket, delete it whatever happens
"""
