"""A real SMTP server on loopback (aiosmtpd) for the email tests: it records every envelope
it accepts, and handler subclasses answer the way troublesome servers do."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self):
        return message_from_bytes(self.content, policy=policy.default)


@dataclass
class Recorder:
    """Accepts everything and keeps each delivered envelope."""

    received: list[Received] = field(default_factory=list)
    data_calls: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_calls += 1
        answer = self.answer(server)
        if answer.startswith("250"):
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return answer

    def answer(self, server) -> str:
        return "250 Message accepted for delivery"


@dataclass
class Server:
    handler: Recorder
    port: int
    logins: list[tuple[bytes, bytes]]

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    """Start a loopback SMTP server with the given handler (and optional login check)."""
    controllers = []

    def start(handler: Recorder | None = None, *, password: str | None = None, echo_password: bool = False) -> Server:
        handler = handler or Recorder()
        logins: list = []
        kwargs = {}
        if password is not None:

            def authenticator(server, session, envelope, mechanism, auth_data):
                logins.append((auth_data.login, auth_data.password))
                if auth_data.password == password.encode():
                    return AuthResult(success=True)
                # a badly behaved server that echoes the credential in its reply
                detail = auth_data.password.decode() if echo_password else "bad credentials"
                return AuthResult(success=False, handled=False, message=f"535 5.7.8 Authentication failed: {detail}")

            kwargs = {"authenticator": authenticator, "auth_require_tls": False}
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return Server(handler, port, logins)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def smtp_server_module():
    """A recording loopback SMTP server that lives as long as the test module: for the
    scenario tests, whose many nights share one server."""
    controllers = []

    def start() -> Server:
        handler = Recorder()
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return Server(handler, port, [])

    yield start
    for c in controllers:
        c.stop()
