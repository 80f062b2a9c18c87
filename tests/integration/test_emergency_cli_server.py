"""`tandem server` as a process: its data folder, emergency records that outlive it,
`tandem plan set` reaching the running server and `tandem audit` reading what it wrote."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp

from app.server.config import DEV_SECRET
from app.server.tokens import mint_token
from tests.integration.emergency_helpers import HANG_GUARD_S, Client

CLI = [sys.executable, "-c", "from app.cli import main; raise SystemExit(main())"]


def tandem(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TANDEM_SECRET"}
    return subprocess.run(
        [*CLI, *argv], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_the_server_process_records_in_its_data_dir_and_picks_up_plans(
    tmp_path: Path,
) -> None:
    data = tmp_path / "records"
    plan = tmp_path / "plan.md"
    plan.write_text("1. Breathe.\n2. Call Jo.", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        *CLI, "server", "--port", "0", "--insecure-dev-secret", "--data-dir", str(data),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = (await asyncio.wait_for(process.stderr.readline(), HANG_GUARD_S)).decode()
        assert line.startswith("tandem server listening on http://127.0.0.1:"), line
        base = line.split()[-1]
        token = mint_token(DEV_SECRET, "couple-9", "partner", "Alex", 600)
        async with aiohttp.ClientSession() as session:
            alex = Client(await session.ws_connect(base + "/emergency/ws"))
            await alex.send(type="hello", v=1, token=token, **{"as": "couple"})
            assert (await alex.next("hello_ok"))["plan"] is None
            setting = await asyncio.to_thread(
                tandem, "plan", "set", "--room", "couple-9", "--file", str(plan),
                "--data-dir", str(data), "--insecure-dev-secret",
            )  # fmt: skip
            assert setting.returncode == 0, setting.stderr
            assert (await alex.next("plan"))["plan"]["text"] == "1. Breathe.\n2. Call Jo."
            await alex.send(type="emergency", location="Home")
            case_id = (await alex.next("case"))["case"]["case_id"]
            await alex.close()
    finally:
        process.terminate()
        await process.wait()
    audit = await asyncio.to_thread(tandem, "audit", "--data-dir", str(data), "--json")
    assert audit.returncode == 0, audit.stderr
    records = [json.loads(line) for line in audit.stdout.splitlines()]
    assert [(r["case_id"], r["kind"]) for r in records] == [(case_id, "requested")]
    assert records[0]["detail"]["location_given"] is True
    assert "Home" not in audit.stdout
