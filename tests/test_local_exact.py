"""Two Worker instances sharing one exact state count PIN attempts as one: two `cfmcp dev`
processes on one --state file, as every isolate on Cloudflare shares the one ExactState object.
(With a state file each, 10 wrong PINs would be answered. Each ledger operation runs in one
BEGIN IMMEDIATE transaction; its race window is too short for this test to catch without it.)"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import httpx

from cfmcp.project.config import ProjectConfig
from cfmcp.worker.render import render_bundle
from tests.support.hosts import _dev_worker
from tests.test_workerd_exact import WRONG, consent_token


def test_two_instances_sharing_the_state_count_as_one(tmp_path: Path) -> None:
    config = ProjectConfig()
    config.upstream.url = "http://127.0.0.1:9/mcp"
    bundle = tmp_path / "bundle"
    render_bundle(config.validate(), public_url="").write(bundle)
    env = {
        "UPSTREAM_TOKEN": "pat-for-the-test",
        "AUTH_PIN": "right-pin-" + secrets.token_hex(4),
        "SIGNING_KEY": secrets.token_urlsafe(32),
    }
    state = tmp_path / "shared-state.sqlite3"

    async def attack(first: str, second: str) -> list[int]:
        async with (
            httpx.AsyncClient(base_url=first, timeout=60) as one,
            httpx.AsyncClient(base_url=second, timeout=60) as two,
        ):
            token = await consent_token(one)  # signed with the shared key: valid at both
            form = {"request": token, "pin": WRONG, "action": "approve"}
            answers = await asyncio.gather(
                *(client.post("/authorize", data=form) for client in (one, two) * 15)
            )
            return [a.status_code for a in answers]

    with _dev_worker(bundle, env, state=state) as a, _dev_worker(bundle, env, state=state) as b:
        statuses = asyncio.run(attack(a.origin, b.origin))
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 25
