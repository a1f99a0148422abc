"""Real servers on 127.0.0.1 for the delivery tests: OpenSSH sshd, aiosmtpd and a partner HTTP API.

Each server binds the loopback interface only, on a free port, and stops when
its fixture ends.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# --------------------------------------------------------------------------- ssh


def write_ed25519_key(path: Path) -> str:
    """Write a new ed25519 private key (OpenSSH format, 0600) and return its public key line."""
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    )
    path.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return public.decode()


@dataclass
class SSHServer:
    port: int
    user: str
    private_key: Path
    known_hosts: Path
    remote_dir: Path
    process: subprocess.Popen

    def known_hosts_line(self, public_key: str) -> str:
        return f"[127.0.0.1]:{self.port} {public_key}\n"


def start_sshd(root: Path) -> SSHServer:
    """sshd with generated host and user keys, key auth only, internal-sftp; the caller stops it."""
    root.mkdir(parents=True, exist_ok=True)
    host_key = root / "ssh_host_ed25519_key"
    host_public = write_ed25519_key(host_key)
    user_key = root / "id_ed25519"
    (root / "authorized_keys").write_text(write_ed25519_key(user_key) + "\n")
    (root / "authorized_keys").chmod(0o600)
    remote_dir = root / "drop"
    remote_dir.mkdir()
    port = free_port()
    user = getpass.getuser()
    config = root / "sshd_config"
    config.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"Port {port}",
                f"HostKey {host_key}",
                f"PidFile {root / 'sshd.pid'}",
                f"AuthorizedKeysFile {root / 'authorized_keys'}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                f"AllowUsers {user}",
                "Subsystem sftp internal-sftp",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    log = root / "sshd.log"
    with log.open("wb") as sink:  # a file, not a pipe: a full pipe would block sshd
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=sink)
    try:
        wait_for_port(port)
    except TimeoutError:
        process.kill()
        raise RuntimeError(f"sshd did not start: {log.read_text()}") from None
    known_hosts = root / "known_hosts"
    server = SSHServer(port, user, user_key, known_hosts, remote_dir, process)
    known_hosts.write_text(server.known_hosts_line(host_public))
    return server


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


# --------------------------------------------------------------------------- smtp


class Mailbox:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd hook
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)

    @staticmethod
    def text(message: Message) -> str:
        if message.is_multipart():
            return "\n".join(
                str(part.get_payload(decode=True).decode())
                for part in message.walk()
                if part.get_content_maintype() == "text"
            )
        return message.get_payload(decode=True).decode()


# --------------------------------------------------------------------------- partner API


@dataclass
class PartnerState:
    """What the fake partner knows and saw."""

    username: str = "ouchhungry"
    password: str = field(default_factory=lambda: secrets.token_hex(8))
    tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    requests: list[dict] = field(default_factory=list)  # every delivery request, accepted or not
    deliveries: dict[str, dict] = field(default_factory=dict)  # idempotency key -> body (accepted once)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer the next delivery requests with
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: PartnerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # silence the default stderr log
            pass

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with state.lock:
                if self.path == "/oauth/token":
                    state.token_requests += 1
                    if body.get("username") != state.username or body.get("password") != state.password:
                        return self._reply(401, {"error": "invalid credentials"})
                    token = secrets.token_hex(16)
                    state.tokens.add(token)
                    return self._reply(200, {"access_token": token, "expires_in": 3600})
                if self.path != "/v1/deliveries":
                    return self._reply(404, {"error": "not found"})
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                key = self.headers.get("Idempotency-Key", "")
                state.requests.append({"key": key, "token_ok": token in state.tokens, "body": body})
                if token not in state.tokens:
                    return self._reply(401, {"error": "invalid or expired token"})
                if state.fail_next:
                    return self._reply(state.fail_next.pop(0), {"error": "injected failure"})
                if not key:
                    return self._reply(400, {"error": "Idempotency-Key required"})
                duplicate = key in state.deliveries
                state.deliveries.setdefault(key, body)
                return self._reply(200, {"receipt": key[-12:], "duplicate": duplicate})

    return Handler


@dataclass
class PartnerAPI:
    url: str
    state: PartnerState
    server: ThreadingHTTPServer


def start_partner_api() -> PartnerAPI:
    state = PartnerState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return PartnerAPI(f"http://127.0.0.1:{server.server_address[1]}", state, server)
