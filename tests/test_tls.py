"""TLS on the listener: `bento serve --tls-cert --tls-key` with a certificate
made at test time. A client that trusts it gets through (health and a real
authenticated call, also through bento.client); a plaintext client and a
client that trusts another certificate do not; half a TLS configuration
refuses to start."""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bento.client import BentoError, Client
from bento.v1 import tenant_pb2
from tests.support import (
    BENTO,
    Caller,
    RunningServer,
    assert_fails,
    start_server,
    unique,
)

TIMEOUT = 10


@dataclass(frozen=True)
class Certificate:
    cert_pem: bytes
    key_pem: bytes

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        cert, key = folder / f"{name}.crt", folder / f"{name}.key"
        cert.write_bytes(self.cert_pem)
        key.write_bytes(self.key_pem)
        key.chmod(0o600)
        return cert, key


def self_signed(common_name: str = "localhost") -> Certificate:
    """A self-signed certificate for localhost and 127.0.0.1, valid a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Certificate(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@dataclass
class TlsServer:
    running: RunningServer
    certificate: Certificate

    @property
    def port(self) -> str:
        return self.running.address.rsplit(":", 1)[1]

    def trusting_channel(self, host: str = "127.0.0.1") -> grpc.Channel:
        credentials = grpc.ssl_channel_credentials(root_certificates=self.certificate.cert_pem)
        channel = grpc.secure_channel(f"{host}:{self.port}", credentials)
        self.running.channels.append(channel)
        return channel


@pytest.fixture
def tls_server(fresh_backend_url: str, tmp_path: Path) -> Iterator[TlsServer]:
    certificate = self_signed()
    cert, key = certificate.write(tmp_path, "server")
    running = start_server(
        fresh_backend_url, tmp_path, extra=("--tls-cert", str(cert), "--tls-key", str(key))
    )
    yield TlsServer(running, certificate)
    assert running.stop() == 0


def health(channel: grpc.Channel) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT).status


def test_a_client_trusting_the_certificate_gets_through(tls_server: TlsServer) -> None:
    for host in ("127.0.0.1", "localhost"):
        channel = tls_server.trusting_channel(host)
        assert health(channel) == health_pb2.HealthCheckResponse.SERVING
        # A real call, authenticated, that writes and reads back.
        admin = Caller(channel, tls_server.running.admin_credential)
        name = unique("tls-platform")
        created = admin(
            admin.tenant.CreatePlatform, tenant_pb2.CreatePlatformRequest(name=name, fee_rate=0.1)
        ).platform
        got = admin(
            admin.tenant.GetPlatform,
            tenant_pb2.GetPlatformRequest(platform_id=created.platform_id),
        ).platform
        assert (got.platform_id, got.name) == (created.platform_id, name)
        # Authentication still applies behind TLS.
        stranger = Caller(channel, None)
        assert_fails(
            lambda: stranger(stranger.tenant.ListPlatforms, tenant_pb2.ListPlatformsRequest()),
            grpc.StatusCode.UNAUTHENTICATED,
            "unauthenticated",
        )


def test_the_python_client_speaks_tls(tls_server: TlsServer) -> None:
    with Client(
        tls_server.running.address,
        credential=tls_server.running.admin_credential,
        tls=True,
        root_certificates=tls_server.certificate.cert_pem,
    ) as client:
        name = unique("tls-client")
        created = client.tenants.CreatePlatform(
            tenant_pb2.CreatePlatformRequest(name=name, fee_rate=0.2)
        ).platform
        listed = client.tenants.ListPlatforms(tenant_pb2.ListPlatformsRequest(page_size=100))
        assert name in [p.name for p in listed.platforms]
        assert created.name == name


def assert_refused(channel: grpc.Channel, tls_server: TlsServer) -> None:
    """Neither an open nor an authenticated call gets through ``channel``."""
    with pytest.raises(grpc.RpcError) as raised:
        health(channel)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    admin = Caller(channel, tls_server.running.admin_credential)
    with pytest.raises(grpc.RpcError) as raised:
        admin(admin.tenant.ListPlatforms, tenant_pb2.ListPlatformsRequest())
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_plaintext_client_is_refused(tls_server: TlsServer) -> None:
    channel = grpc.insecure_channel(tls_server.running.address)
    tls_server.running.channels.append(channel)
    assert_refused(channel, tls_server)
    # The server shrugs it off and still serves TLS clients.
    assert health(tls_server.trusting_channel()) == health_pb2.HealthCheckResponse.SERVING


def test_a_client_trusting_another_certificate_is_refused(tls_server: TlsServer) -> None:
    stranger = self_signed()  # same names, another key: not the server's
    credentials = grpc.ssl_channel_credentials(root_certificates=stranger.cert_pem)
    channel = grpc.secure_channel(tls_server.running.address, credentials)
    tls_server.running.channels.append(channel)
    assert_refused(channel, tls_server)
    # The system's roots do not know a self-signed certificate either.
    with (
        Client(
            tls_server.running.address,
            credential=tls_server.running.admin_credential,
            tls=True,
            timeout=3,
            retries=0,
        ) as client,
        pytest.raises(BentoError) as refused,
    ):
        client.tenants.ListPlatforms(tenant_pb2.ListPlatformsRequest())
    assert refused.value.code == grpc.StatusCode.UNAVAILABLE
    assert health(tls_server.trusting_channel()) == health_pb2.HealthCheckResponse.SERVING


def serve_and_fail(
    database_url: str, workdir: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """Runs `bento serve` that must refuse to start."""
    result = subprocess.run(
        [BENTO, "serve", "--address", "127.0.0.1:0", "--database", database_url, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=workdir,
    )
    assert result.returncode != 0, result
    assert "bento listening" not in result.stdout, result
    assert "Traceback" not in result.stderr, result.stderr
    return result


# The TLS configuration is checked before the store opens: these runs never
# touch a database, so one backend is enough.


def test_half_a_tls_configuration_refuses_to_start(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    cert, key = self_signed().write(tmp_path, "server")
    for extra in (("--tls-cert", str(cert)), ("--tls-key", str(key))):
        result = serve_and_fail(f"sqlite:///{database}", tmp_path, *extra)
        assert "--tls-cert and --tls-key go together" in result.stderr, result.stderr
    assert not database.exists()


def test_unusable_tls_files_refuse_to_start_with_a_message(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    cert, key = self_signed().write(tmp_path, "server")
    _, other_key = self_signed().write(tmp_path, "other")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    missing = tmp_path / "missing.pem"
    cases = [
        ((str(missing), str(key)), f"cannot read {missing}: No such file or directory"),
        ((str(cert), str(missing)), f"cannot read {missing}: No such file or directory"),
        ((str(junk), str(key)), f"--tls-cert {junk} holds no PEM certificate"),
        ((str(cert), str(cert)), f"--tls-key {cert} holds no PEM private key"),
    ]
    url = f"sqlite:///{database}"
    for (cert_arg, key_arg), message in cases:
        result = serve_and_fail(url, tmp_path, "--tls-cert", cert_arg, "--tls-key", key_arg)
        assert message in result.stderr, result.stderr
    assert not database.exists()
    # Whether a key belongs to its certificate shows only when the port binds.
    result = serve_and_fail(url, tmp_path, "--tls-cert", str(cert), "--tls-key", str(other_key))
    assert "cannot listen on 127.0.0.1:0 (is --tls-key the private key of --tls-cert?)" in (
        result.stderr
    ), result.stderr
