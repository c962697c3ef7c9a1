"""SSRF rules where each connection is made: the host is resolved once per new
connection with the policy's resolver, and the connection goes to the address checked
(DNS rebinding cannot slip a private address in between check and connect)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpcore2
import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.config.sections import WebhookSettings
from storelink.errors import DeliveryError, UnsafeURLError
from storelink.webhooks import (
    Dispatcher,
    EndpointSpec,
    EndpointStore,
    HttpTransport,
    ManualClock,
    SecretBox,
    URLPolicy,
    WebhookRequest,
    attempts,
    deliveries,
    fanout,
)
from tests.webhooks.conftest import price_event
from tests.webhooks.receiver import Receiver, serve

PUBLIC = "93.184.216.34"


@dataclass
class FakeDNS:
    """A resolver answering from a table the test may change; records every lookup."""

    answers: dict[str, list[str]]
    lookups: list[str] = field(default_factory=list)

    async def __call__(self, host: str) -> Sequence[str]:
        self.lookups.append(host)
        return self.answers[host]


def settings(*allowed: str) -> WebhookSettings:
    # 127.0.0.1 itself is allowed: only the host names below decide
    return WebhookSettings(allow_http=True, allowed_hosts=["127.0.0.1", *allowed], timeout_s=5)


async def drain(dispatcher: Dispatcher) -> None:
    try:
        while await dispatcher.run_once():
            pass
    finally:
        await dispatcher.aclose()


async def test_rebinding_to_loopback_is_refused_at_connect_time(
    engine: AsyncEngine, receiver: Receiver, clock: ManualClock, secret_box: SecretBox
) -> None:
    dns = FakeDNS({"rebind.test": [PUBLIC]})
    policy = URLPolicy.from_settings(settings(), resolver=dns)
    store = EndpointStore(engine, policy=policy, clock=clock, secret_box=secret_box)
    url = f"http://rebind.test:{receiver.port}/hook"
    endpoint, _ = await store.add(EndpointSpec(url=url))  # checked: public then
    # from now on every answer is loopback (so nothing can ever connect to PUBLIC)
    dns.answers["rebind.test"] = ["127.0.0.1"]

    await fanout(engine, price_event(), clock=clock)
    dispatcher = Dispatcher(
        engine, settings=settings(), clock=clock, policy=policy, secret_box=secret_box
    )
    try:
        assert await dispatcher.run_once() == 1
    finally:
        await dispatcher.aclose()

    assert receiver.hits == []
    # one lookup to save the endpoint, one for the connection: none per attempt
    assert dns.lookups == ["rebind.test", "rebind.test"]
    refusal = (
        f"{url}: rebind.test resolves to non-public address 127.0.0.1"
        " (add the host to webhooks.allowed_hosts to allow it)"
    )
    (attempt,) = await attempts(engine, endpoint.id)
    assert (attempt.outcome, attempt.status_code, attempt.error) == ("failed", None, refusal)
    (delivery,) = await deliveries(engine, endpoint_id=endpoint.id)
    assert (delivery.status, delivery.last_error) == ("pending", refusal)


async def test_allowed_name_is_delivered_to_the_address_its_resolver_gave(
    engine: AsyncEngine, receiver: Receiver, clock: ManualClock, secret_box: SecretBox
) -> None:
    # the system resolver knows no *.test name: only the connection to 127.0.0.1 that
    # the injected resolver answered can reach the receiver
    dns = FakeDNS({"receiver.test": ["127.0.0.1"]})
    policy = URLPolicy.from_settings(settings("receiver.test"), resolver=dns)
    store = EndpointStore(engine, policy=policy, clock=clock, secret_box=secret_box)
    endpoint, _ = await store.add(EndpointSpec(url=f"http://receiver.test:{receiver.port}/hook"))

    await fanout(engine, price_event(), clock=clock)
    await drain(
        Dispatcher(
            engine,
            settings=settings("receiver.test"),
            clock=clock,
            policy=policy,
            secret_box=secret_box,
        )
    )

    (hit,) = receiver.hits
    assert hit.headers["host"] == f"receiver.test:{receiver.port}"
    (delivery,) = await deliveries(engine, endpoint_id=endpoint.id)
    assert delivery.status == "delivered"
    assert dns.lookups == ["receiver.test"]  # allowed: not resolved when saved


async def test_attempts_look_nothing_up_and_kept_alive_connections_neither(
    engine: AsyncEngine, receiver: Receiver, clock: ManualClock, secret_box: SecretBox
) -> None:
    connect_dns = FakeDNS({"receiver.test": ["127.0.0.1"]})
    connect_policy = URLPolicy.from_settings(settings("receiver.test"), resolver=connect_dns)
    # the dispatcher's own policy does not allow the name: an attempt that looked it up
    # there would be refused (and recorded here)
    attempt_dns = FakeDNS({"receiver.test": ["127.0.0.1"]})
    attempt_policy = URLPolicy(allow_http=True, resolver=attempt_dns)
    store = EndpointStore(engine, policy=connect_policy, clock=clock, secret_box=secret_box)
    url = f"http://receiver.test:{receiver.port}/hook"
    endpoint, _ = await store.add(EndpointSpec(url=url, max_concurrency=2))

    events = 12
    await fanout(engine, [price_event(f"SKU-{n}") for n in range(events)], clock=clock)
    transport = HttpTransport(policy=connect_policy)
    try:
        await drain(
            Dispatcher(
                engine,
                settings=settings(),
                clock=clock,
                policy=attempt_policy,
                transport=transport,
                secret_box=secret_box,
            )
        )
    finally:
        await transport.aclose()

    assert {d.status for d in await deliveries(engine, endpoint_id=endpoint.id)} == {"delivered"}
    assert len(receiver.hits) == events
    assert attempt_dns.lookups == []
    connections = {hit.client for hit in receiver.hits}
    assert None not in connections
    # one lookup per connection opened (at most the endpoint's concurrency), not per attempt
    assert len(connect_dns.lookups) == len(connections) <= 2


async def test_refused_address_falls_through_to_the_next_checked_one(
    receiver: Receiver,
) -> None:
    # 127.0.0.2 is loopback too, but nothing listens there: the connection is refused
    dns = FakeDNS({"receiver.test": ["127.0.0.2", "127.0.0.1"]})
    transport = HttpTransport(
        policy=URLPolicy(allow_http=True, allowed_hosts=frozenset({"receiver.test"}), resolver=dns)
    )
    try:
        response = await transport.post(
            WebhookRequest(
                url=f"http://receiver.test:{receiver.port}/hook", headers={}, body=b"{}"
            ),
            timeout_s=5,
        )
    finally:
        await transport.aclose()
    assert response.status_code == 200
    assert len(receiver.hits) == 1


async def test_a_hanging_lookup_is_a_timeout() -> None:
    async def hang(host: str) -> Sequence[str]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    transport = HttpTransport(policy=URLPolicy(resolver=hang))
    try:
        with pytest.raises(DeliveryError) as caught:
            await transport.post(
                WebhookRequest(url="https://partner.test/hook", headers={}, body=b"{}"),
                timeout_s=0.2,
            )
    finally:
        await transport.aclose()
    assert caught.value.context["kind"] == "timeout"


async def test_literal_private_address_is_refused_without_a_lookup(receiver: Receiver) -> None:
    dns = FakeDNS({})
    transport = HttpTransport(policy=URLPolicy(allow_http=True, resolver=dns))
    try:
        with pytest.raises(UnsafeURLError, match=r"non-public address 127\.0\.0\.1"):
            await transport.post(
                WebhookRequest(url=receiver.url(), headers={}, body=b"{}"), timeout_s=1
            )
    finally:
        await transport.aclose()
    assert receiver.hits == []
    assert dns.lookups == []


def issue_certificate(directory: Path, name: str) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for ``name`` signed by it:
    (CA file, certificate file, key file)."""
    now = dt.datetime.now(dt.UTC)

    def certificate(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name,
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "storelink test CA")])
    ca = (
        certificate("storelink test CA", ca_key, ca_name)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        certificate(name, key, ca_name)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.mark.parametrize(
    ("certified", "delivered"), [("receiver.test", True), ("other.test", False)]
)
async def test_tls_is_verified_against_the_name_not_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, certified: str, delivered: bool
) -> None:
    ca, cert, key = issue_certificate(tmp_path, certified)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the only CA httpx2 trusts in this test
    dns = FakeDNS({"receiver.test": ["127.0.0.1"]})
    transport = HttpTransport(
        policy=URLPolicy(allowed_hosts=frozenset({"receiver.test"}), resolver=dns)
    )
    async with serve(Receiver(), ssl_certfile=str(cert), ssl_keyfile=str(key)) as receiver:
        request = WebhookRequest(
            url=f"https://receiver.test:{receiver.port}/hook", headers={}, body=b"{}"
        )
        try:
            if delivered:
                assert (await transport.post(request, timeout_s=5)).status_code == 200
            else:
                with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
                    await transport.post(request, timeout_s=5)
        finally:
            await transport.aclose()
    assert len(receiver.hits) == int(delivered)
    assert dns.lookups == ["receiver.test"]


def test_httpx2_transport_keeps_its_pool_in_the_attribute_storelink_swaps() -> None:
    # HttpTransport relies on this private attribute (httpx2's transport takes no
    # network backend): an httpx2 upgrade that renames it must fail here, loudly
    assert isinstance(httpx2.AsyncHTTPTransport()._pool, httpcore2.AsyncConnectionPool)
