"""`cfmcp deploy`: observe what exists, plan steps, execute them, record state, smoke-test.

models.py    frozen dataclasses: what exists remotely (RemoteState), what to do (steps, Plan);
             each step describes itself in plain text
remote.py    observe(): the read-only calls that build a RemoteState (few, concurrent)
planner.py   plan_deploy(): config + RemoteState + bundle -> Plan (pure, no I/O)
executor.py  Executor runs a Plan (recording .cfmcp/state.json after every step);
             DisplayOnlyExecutor prints it; upload_manifest(): the upload's metadata part
curl.py      format_curl(): the Plan as curl commands (--dry-run --format curl)
flow.py      run_deploy(): the whole command, from cfmcp.toml to the final panel

The state file is cfmcp.project.state; what is ours on the account is cfmcp.account.ours.
"""
