"""Conformance transcripts: what a real Odoo answers to every call the connector makes.

:func:`record` plays a fixed scenario (:mod:`.scenario`) through a
:class:`RecordingTransport`, normalises each exchange (:mod:`.normalise`) and
returns a :class:`Transcript`; :func:`write` stores it as one JSON file per step
under ``<dir>/<series>/`` (``storelink odoo record-conformance``). Replaying the
scenario against the emulator and :func:`compare`-ing the two holds the
emulator to the real server's answers.
"""

from storelink.odoo.conformance.compare import Accepted, Difference, compare, report
from storelink.odoo.conformance.normalise import Normaliser, Session
from storelink.odoo.conformance.record import record
from storelink.odoo.conformance.scenario import STEPS
from storelink.odoo.conformance.transcript import Transcript, load, recorded, write
from storelink.odoo.conformance.transport import RecordingTransport

__all__ = [
    "STEPS",
    "Accepted",
    "Difference",
    "Normaliser",
    "RecordingTransport",
    "Session",
    "Transcript",
    "compare",
    "load",
    "record",
    "recorded",
    "report",
    "write",
]
