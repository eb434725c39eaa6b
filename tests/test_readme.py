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


def test_readme_walkthrough_runs_as_printed(tmp_path: Path) -> None:
    # The server `make run` would start: ./bento.db in the folder the
    # commands run from. Only the port and the venv's location differ.
    server = start_server("sqlite:///bento.db", tmp_path, test_clock=False)
    try:
        venv_bin = Path(sys.executable).parent
        script = walkthrough().replace(PRINTED_ADDRESS, server.address)
        script = script.replace(".venv/bin/", f"{venv_bin}/")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "bento.v1.SubscriptionService" in out
    assert "StreamFlix + TuneBox Bundle" in out
    assert '"app_id"' in out and "activation_url_template" in out
    assert '"name": "Acme TV"' in out
    assert '"status": "SERVING"' in out
    assert '"activation_url": "https://streamflix.example/activate?code=AC_' in out
    assert '"product_name": "StreamFlix Standard"' in out and '"jti": "at_' in out
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
    server = start_server("sqlite:///bento.db", tmp_path, test_clock=False)
    try:
        demo = subprocess.run(
            [str(Path(sys.executable).parent / "bento"), "demo"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        keys = dict(line.split("=", 1) for line in demo.stdout.splitlines() if "_KEY=" in line)
        section = README.read_text().split("## From Python", 1)[1]
        code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
        assert code, "the Python example is missing"
        script = code.group(1).replace(PRINTED_ADDRESS, server.address)
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env={**os.environ, **keys},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
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
