"""The delivery resources on their own, against real loopback servers (TLS e-mail, SFTP, outbox)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from caseworks_assets.resources.delivery import OutboxResource, SMTPDeliveryError
from caseworks_assets_tests.ouchhungry.kit import sftp_resource, smtp_resource
from caseworks_assets_tests.ouchhungry.servers import Mailbox, free_port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, certificate))
    return context


def test_starttls_is_used_and_required(certificate) -> None:
    box = Mailbox()
    controller = Controller(
        box, hostname="127.0.0.1", port=free_port(), tls_context=_server_context(certificate), require_starttls=True
    )
    controller.start()
    try:
        smtp = smtp_resource(controller.port, security="starttls", ca_file=str(certificate[0]))
        smtp.send(["a@x.example"], "over TLS", "hello")
        assert [m["Subject"] for m in box.wait_for(1)] == ["over TLS"]
        with pytest.raises(SMTPDeliveryError, match="STARTTLS"):
            smtp_resource(controller.port, security="none").send(["a@x.example"], "plain", "hello")
        with pytest.raises(SMTPDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            smtp_resource(controller.port, security="starttls").send(["a@x.example"], "untrusted", "hello")
        assert len(box.messages) == 1
    finally:
        controller.stop()


def test_implicit_tls(certificate) -> None:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), ssl_context=_server_context(certificate))
    controller.start()
    try:
        smtp_resource(controller.port, security="ssl", ca_file=str(certificate[0])).send(["a@x.example"], "ssl", "hi")
        assert [m["Subject"] for m in box.wait_for(1)] == ["ssl"]
    finally:
        controller.stop()


def test_sftp_upload_replaces_atomically_and_reports_the_verified_size(sshd, drop, tmp_path) -> None:
    local = tmp_path / "report.csv"
    local.write_text("a,b\n" + "1,2\n" * 1000)
    remote = sftp_resource(sshd).upload(local)
    assert remote.size == local.stat().st_size == (drop / "report.csv").stat().st_size
    local.write_text("a,b\n3,4\n")  # a corrected file replaces the old one under the same name
    assert sftp_resource(sshd).upload(local).size == 8
    assert sorted(p.name for p in drop.iterdir()) == ["report.csv"]
    assert (drop / "report.csv").read_text() == "a,b\n3,4\n"


def test_outbox_keeps_what_each_channel_would_have_sent(tmp_path) -> None:
    outbox = OutboxResource(root=str(tmp_path / "outbox"))
    source = tmp_path / "f.csv"
    source.write_text("x\n1\n")
    assert outbox.put_file("sftp", source).read_text() == "x\n1\n"
    assert outbox.put_json("api", "../../escape.json", {"ok": True}).parent == tmp_path / "outbox" / "api"
    mail = outbox.put_email(["p@x.example"], "Subject line", "body")
    assert mail.read_text().startswith("To: p@x.example\nSubject: Subject line")


def test_alerts_fall_back_to_the_outbox_without_smtp(tmp_path) -> None:
    from caseworks_assets.ouchhungry.alerts import Alert, send_alert
    from caseworks_assets.resources.delivery import SMTPResource

    outbox = OutboxResource(root=str(tmp_path / "outbox"))
    where = send_alert(Alert("connection", "sftp down", "job x, partition p", "restart it"), SMTPResource(), outbox)
    (mail,) = (tmp_path / "outbox" / "email").iterdir()
    assert where == f"outbox:{mail}"
    assert "WHAT FAILED: sftp down\nWHERE: job x, partition p\nNEXT STEP: restart it" in mail.read_text()


def test_an_alert_the_smtp_server_refuses_is_kept_in_the_outbox(tmp_path) -> None:
    from caseworks_assets.ouchhungry.alerts import Alert, send_alert

    outbox = OutboxResource(root=str(tmp_path / "outbox"))
    dead = smtp_resource(free_port())
    with pytest.raises(SMTPDeliveryError, match="The alert was kept in"):
        send_alert(Alert("delivery", "api 422", "job x", "fix it"), dead, outbox)
    (mail,) = (tmp_path / "outbox" / "email").iterdir()
    assert "WHAT FAILED: api 422" in mail.read_text()
