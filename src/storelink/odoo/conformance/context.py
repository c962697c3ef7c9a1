"""What every scenario step works with: the tape, the connection options, the connector."""

from __future__ import annotations

from dataclasses import dataclass

from storelink.odoo.client import ConnectOptions, OdooClient
from storelink.odoo.conformance.tape import Tape
from storelink.odoo.conformance.transport import RecordingTransport
from storelink.odoo.connector import OdooConnector


@dataclass
class Run:
    """One recording: ``options`` carry the recording transport; ``connector`` is set on connect."""

    tape: Tape
    transport: RecordingTransport
    options: ConnectOptions
    connector: OdooConnector | None = None

    @property
    def odoo(self) -> OdooConnector:
        if self.connector is None:
            raise RuntimeError("the scenario is not connected")
        return self.connector

    @property
    def client(self) -> OdooClient:
        return self.odoo.client
