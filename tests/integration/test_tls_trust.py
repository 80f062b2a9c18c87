"""A clinic's own certificate authority against the real session server over TLS on loopback:
untrusted until the client is told the CA (--ca-file, the profile's ca_file), and then said as
"the server's certificate is not trusted", never "could not be reached"."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from app.call.engine import CallEngine, JoinError
from app.call.events import CallError, CallEvent
from app.call.refusal_words import plain_words
from app.checks.bandwidth import check_bandwidth
from app.checks.result import Status
from app.net.bandwidth_measurement import BandwidthError
from app.net.session_server_probe import SessionServerProbe
from app.server.config import ServerConfig
from tests.integration.signaling_helpers import HANG_GUARD_S, SECRET, token
from tests.integration.tls_helpers import ClinicPki, make_clinic_pki, tls_server

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 90.0


@pytest.fixture
def pki(tmp_path: Path) -> ClinicPki:
    return make_clinic_pki(tmp_path)


def _config(pki: ClinicPki) -> ServerConfig:
    return ServerConfig(secret=SECRET, heartbeat_s=30.0, cert=pki.cert, key=pki.key)


def _engine(base: str, events: list[CallEvent], ca_file: Path | None = None) -> CallEngine:
    return CallEngine(
        base, token(), camera=None, microphone=None, listener=events.append, ca_file=ca_file
    )


@pytest.mark.allow_log_warnings("app.call.signaling_session")
async def test_the_desktop_engine_names_an_untrusted_certificate(pki: ClinicPki) -> None:
    async with tls_server(_config(pki)) as base:
        events: list[CallEvent] = []
        with pytest.raises(JoinError) as refused:
            await asyncio.wait_for(_engine(base, events).join(), HANG_GUARD_S)
        assert refused.value.code == "server_untrusted"
        errors = [e for e in events if isinstance(e, CallError)]
        assert [e.code for e in errors] == ["server_untrusted"]
        assert "certificate is not trusted" in plain_words(errors[0].code)
        assert "could not reach" not in plain_words(errors[0].code)


async def test_the_clinic_ca_lets_the_desktop_engine_in(pki: ClinicPki) -> None:
    async with tls_server(_config(pki)) as base:
        events: list[CallEvent] = []
        engine = _engine(base, events, ca_file=pki.ca)
        await asyncio.wait_for(engine.join(), HANG_GUARD_S)
        assert engine.peer_id is not None
        await engine.leave()
        assert not [e for e in events if isinstance(e, CallError)]


@pytest.mark.allow_log_warnings("app.call.signaling_session")
async def test_no_server_at_all_is_still_unreachable() -> None:
    events: list[CallEvent] = []
    engine = _engine("https://127.0.0.1:9", events)  # nothing listens on the discard port
    with pytest.raises(JoinError) as refused:
        await asyncio.wait_for(engine.join(), HANG_GUARD_S)
    assert refused.value.code == "server_unreachable"


async def test_the_equipment_check_probe_says_untrusted_then_measures_with_the_ca(
    pki: ClinicPki,
) -> None:
    async with tls_server(_config(pki)) as base:
        untrusted = SessionServerProbe(base, phase_s=0.3, threads=2, latency_samples=2)
        with pytest.raises(BandwidthError) as failed:
            await asyncio.to_thread(untrusted.measure)
        assert failed.value.problem == "untrusted"
        result = await asyncio.to_thread(check_bandwidth, untrusted, 1.0, 1.0)
        assert result.status is Status.FAIL and "not trusted" in result.reason
        assert "not answering" not in result.reason
        trusted = SessionServerProbe(
            base, phase_s=0.3, threads=2, latency_samples=2, ca_file=pki.ca
        )
        measured = await asyncio.to_thread(trusted.measure)
        assert measured.download_mbps > 0 and measured.upload_mbps > 0


async def _tandem_join(base: str, *extra: str) -> tuple[int, list[dict[str, object]], str]:
    env = {**os.environ, "TANDEM_JOIN_TOKEN": token(), "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "join", "--headless", "--server", base,
        "--camera", "none", "--mic", "none", "--duration", "0.5", *extra,
        env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert process.returncode is not None
    return process.returncode, lines, err.decode()


async def test_tandem_join_with_and_without_the_clinic_ca(pki: ClinicPki) -> None:
    async with tls_server(_config(pki)) as base:
        code, lines, err = await _tandem_join(base)
        assert code == 4, err
        errors = [line for line in lines if line["type"] == "error"]
        assert [e["code"] for e in errors] == ["server_untrusted"]
        assert "not trusted" in str(errors[0]["message"]) and "Traceback" not in err
        code, lines, err = await _tandem_join(base, "--ca-file", str(pki.ca))
        assert code == 0, err
        assert "joined" in [line["type"] for line in lines]


def test_tandem_join_refuses_a_ca_file_that_is_not_one(tmp_path: Path) -> None:
    import subprocess

    bogus = tmp_path / "not-a-ca.pem"
    bogus.write_text("hello\n")
    for path, words in ((bogus, "not a PEM CA certificate"), (tmp_path / "nope", "no CA file")):
        run = subprocess.run(
            [sys.executable, "-m", "app", "join", "--headless", "--server", "https://x:1",
             "--token", "t", "--ca-file", str(path)],
            cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        )  # fmt: skip
        assert run.returncode == 2 and words in run.stderr and "Traceback" not in run.stderr
