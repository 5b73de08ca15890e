"""`cfmcp deploy`: observe what exists, plan steps, execute them, record state, smoke-test.

models.py   frozen dataclasses: what exists remotely (RemoteState) and what to do (steps, Plan)
remote.py   observe(): the read-only calls that build a RemoteState (few, concurrent)
planner.py  plan_deploy(): config + RemoteState + bundle -> Plan (pure, no I/O)
executor.py Executor runs a Plan; DisplayOnlyExecutor prints it; format_curl() for --format curl
state.py    .cfmcp/state.json, written after every step
"""
