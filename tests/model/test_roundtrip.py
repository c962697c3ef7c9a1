"""Every entity and the envelope survive a trip through JSON unchanged."""

from __future__ import annotations

import pytest

from storelink.model import PAYLOAD_TYPES, CanonicalModel, Event, EventType, sale_key
from tests.model.samples import SALE, SAMPLES


@pytest.mark.parametrize("model", list(SAMPLES), ids=lambda m: m.__name__)
def test_entity_round_trips_through_json(model: type[CanonicalModel]) -> None:
    instance = SAMPLES[model]
    assert model.model_validate_json(instance.model_dump_json()) == instance


def test_money_is_serialised_as_exact_strings() -> None:
    data = SALE.model_dump(mode="json")
    assert data["lines"][0]["unit_price"] == "3.50"
    assert data["payments"][0]["amount"] == "16.00"


@pytest.mark.parametrize("event_type", sorted(PAYLOAD_TYPES))
def test_envelope_round_trips_for_every_type(event_type: str) -> None:
    payload = SAMPLES[PAYLOAD_TYPES[event_type]]
    event = Event.of(
        event_type,
        payload,
        source="/stores/S001",
        partitionkey="key-1",
        subject="subject",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    again = Event.model_validate_json(event.model_dump_json())
    assert again == event
    assert again.payload() == payload


def test_envelope_carries_cloudevents_attributes() -> None:
    event = Event.of(
        EventType.SALE_RECORDED, SALE, source="/stores/S001", partitionkey=sale_key("S001", SALE.id)
    )
    data = event.model_dump(mode="json")
    assert data["specversion"] == "1.0"
    assert data["datacontenttype"] == "application/json"
    assert {
        "id",
        "source",
        "type",
        "subject",
        "time",
        "data",
        "partitionkey",
        "traceparent",
    } <= set(data)
    assert data["partitionkey"] == f"sale:S001:{SALE.id}"


def test_of_refuses_a_payload_of_the_wrong_model() -> None:
    with pytest.raises(TypeError, match="carries Sale"):
        Event.of(
            EventType.SALE_RECORDED, SAMPLES[next(iter(SAMPLES))], source="/", partitionkey="k"
        )
