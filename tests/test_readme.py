"""The README's grpcurl walk-through works exactly as printed."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support import start_server

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PRINTED_ADDRESS = "127.0.0.1:50051"


def bash_block(heading: str) -> str:
    """The first bash block under ``heading``."""
    section = README.read_text().split(heading, 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match, f"the bash block of {heading!r} is missing"
    return match.group(1)


def walkthrough() -> str:
    # The statements example goes on in the walk-through's shell.
    return bash_block("## Try it with grpcurl") + bash_block("## Statements")


def as_run_here(script: str, address: str) -> str:
    """``script`` against the test's server and venv: only the port and the
    venv's location differ from the README."""
    venv_bin = Path(sys.executable).parent
    return script.replace(PRINTED_ADDRESS, address).replace(".venv/bin/", f"{venv_bin}/")


def run_bash(script: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_readme_walkthrough_runs_as_printed(tmp_path: Path) -> None:
    # The server `make run` would start: ./bento.db in the folder the
    # commands run from. Run twice, as a user trying it again would: the
    # second `bento demo` reuses the first one's demo, and nothing is refused.
    server = start_server("sqlite:///bento.db", tmp_path, test_clock=False)
    try:
        script = as_run_here(walkthrough(), server.address)
        result = run_bash(script, tmp_path)
        again = run_bash(script, tmp_path)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("(loaded by an earlier run")
    demo_lines = [line for line in result.stdout.splitlines() if line.startswith("platform ")]
    assert demo_lines and demo_lines[0] in again.stdout.splitlines()
    out = result.stdout
    assert "bento.v1.SubscriptionService" in out
    assert "StreamFlix + TuneBox Bundle" in out
    assert '"app_id"' in out and "activation_url_template" in out
    assert '"name": "Acme TV"' in out
    assert '"status": "SERVING"' in out
    assert '"activation_url": "https://streamflix.example/activate?code=AC_' in out
    assert '"product_name": "StreamFlix Standard"' in out and '"jti": "at_' in out
    # The item confirmed, the subscription names its session and is partial
    # (TuneBox is still to confirm); GetInvoice by the invoice's ID alone.
    for said in (out, again.stdout):
        assert '"activation_session_status": "ACTIVATION_STATUS_PARTIAL"' in said
        assert '"activation_status": "ACTIVATION_STATUS_PARTIAL"' in said
        assert re.search(r'"activation_session_id": "AS\d+"', said)
        assert said.count('"invoice_number": "') >= 2  # created, and read by ID
    # -emit-defaults: fields at their default are printed, not left out.
    assert '"proration_credit": "0"' in out and '"cancel_at_period_end": false' in out
    for kind in (
        "subscription.created",
        "payment.succeeded",
        "activation.session.created",
        "activation.item.updated",
    ):
        assert f'"type": "{kind}"' in out, kind
    assert '"heartbeat"' in out
    assert '"secret": "whsec_' in out and '"url": "https://acme.example/bento-webhooks"' in out
    # The statement of the payment: 999 = fee 150 + StreamFlix 456 + platform 393,
    # and StreamFlix's allocation with its share.
    for said in (
        '"gross": "999"',
        '"platform_fee": "150"',
        '"platform_share": "393"',
        '"publisher_share": "456"',
        '"amount": "456"',
    ):
        assert said in out, said
    # `bento statements`: the same, as CSV; the platform's lines first.
    printed = list(csv.DictReader(io.StringIO(out[out.index("tenant_id,currency,") :])))
    assert [(r["product_id"] != "", r["gross_decimal"], r["publisher_share"]) for r in printed] == [
        (False, "9.99", "0"),  # the plan's own line
        (True, "0.00", "456"),  # StreamFlix's product
        (True, "0.00", "0"),  # TuneBox's, without a wholesale price
        (True, "0.00", "456"),  # StreamFlix's own statement
        (True, "0.00", "0"),  # TuneBox's
    ]
    # The first thing on stderr is the -format-error status (the watch's
    # deadline message comes after it).
    error, _ = json.JSONDecoder().raw_decode(result.stderr[result.stderr.index("{") :])
    assert error["details"][0]["reason"] == "invalid_argument"
    fields = {v["field"] for d in error["details"] for v in d.get("field_violations", [])}
    assert fields == {"name", "fee_rate"}


def test_readme_python_example_runs(tmp_path: Path) -> None:
    """The Python example, run twice from the shell the walk-through's
    first lines set up (they export the keys), with no keys given to it
    any other way."""
    setup = bash_block("## Try it with grpcurl").split("\nADMIN=", 1)[0]
    assert "set -a" in setup, setup
    section = README.read_text().split("## From Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code, "the Python example is missing"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_KEY")}
    server = start_server("sqlite:///bento.db", tmp_path, test_clock=False)
    try:
        env["EXAMPLE"] = as_run_here(code.group(1), server.address)
        python = f'"{sys.executable}" -c "$EXAMPLE"'
        script = f"{{\n{as_run_here(setup, server.address)}\n}} >/dev/null\n"
        result = run_bash(f"{script}{python}\necho ---\n{python}\n", tmp_path, env)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    first, second = result.stdout.split("---\n")
    for run in (first, second):
        check_python_example_output(run.splitlines())


def check_python_example_output(lines: list[str]) -> None:
    assert lines[0] == "invalid_status_transition"
    assert lines[1].startswith("StreamFlix Standard at_")
    assert [line.split()[1] for line in lines[2:]] == [
        "subscription.created",
        "invoice.created",
        "payment.succeeded",
        "invoice.paid",
        "subscription.activated",
    ]


def test_readme_webhook_receiver_verifies_what_bento_sends(tmp_path: Path) -> None:
    """The receiver printed in the README, run as printed but on a free port,
    takes a real delivery: its signature verifies and it answers 204."""
    import socket
    import time

    from bento.client import Client
    from bento.v1 import tenant_pb2, webhook_pb2

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    section = README.read_text().split("## Webhooks", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code, "the receiver example is missing"
    script = code.group(1).replace('("127.0.0.1", 8000)', f'("127.0.0.1", {port})')
    assert str(port) in script
    server = start_server(
        f"sqlite:///{tmp_path}/hooks.db",
        tmp_path,
        test_clock=False,
        extra=("--webhooks-allow-private",),
    )
    receiver = None
    try:
        with Client(server.address, credential=server.admin_credential) as bento:
            made = bento.webhooks.CreateWebhookEndpoint(
                webhook_pb2.CreateWebhookEndpointRequest(url=f"http://127.0.0.1:{port}/hooks")
            )
            receiver = subprocess.Popen(
                [sys.executable, "-u", "-c", script],
                env={**os.environ, "BENTO_WEBHOOK_SECRET": made.secret},
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            time.sleep(1)  # the receiver binds its port
            bento.tenants.CreatePlatform(tenant_pb2.CreatePlatformRequest(name="Hooked"))
            bento.webhooks.SendTestWebhook(
                webhook_pb2.SendTestWebhookRequest(endpoint_id=made.endpoint.endpoint_id)
            )
            deadline = time.monotonic() + 30
            delivered = []
            while time.monotonic() < deadline and not delivered:
                delivered = [
                    d
                    for d in bento.webhooks.ListWebhookDeliveries(
                        webhook_pb2.ListWebhookDeliveriesRequest(
                            endpoint_id=made.endpoint.endpoint_id
                        )
                    ).deliveries
                    if d.state == webhook_pb2.WEBHOOK_DELIVERY_STATE_DELIVERED
                ]
                time.sleep(0.2)
            assert delivered, "nothing reached the README's receiver"
            assert delivered[0].last_status_code == 204
    finally:
        if receiver is not None:
            receiver.kill()
            printed = receiver.communicate(timeout=10)[0]
        server.stop()
    assert "msg_" in printed, printed
