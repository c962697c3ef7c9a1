"""Exported JSON Schemas describe real instances (checked with ``jsonschema``)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from storelink.cli import main
from storelink.model import PAYLOAD_TYPES, Event
from storelink.model.schema import ENTITIES
from tests.model.samples import SAMPLES


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("schemas")
    assert main(["schema", "export", str(directory)]) == 0
    return directory


def _validator(path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(path.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator


def test_one_schema_per_entity_and_event_type(schema_dir: Path) -> None:
    names = {p.name.removesuffix(".schema.json") for p in schema_dir.iterdir()}
    assert names == {m.__name__ for m in ENTITIES} | set(PAYLOAD_TYPES)


@pytest.mark.parametrize("model", ENTITIES, ids=lambda m: m.__name__)
def test_entity_schema_validates_a_real_instance(schema_dir: Path, model: type) -> None:
    validator = _validator(schema_dir / f"{model.__name__}.schema.json")
    validator.validate(SAMPLES[model].model_dump(mode="json"))


@pytest.mark.parametrize("event_type", sorted(PAYLOAD_TYPES))
def test_event_schema_validates_a_real_event(schema_dir: Path, event_type: str) -> None:
    validator = _validator(schema_dir / f"{event_type}.schema.json")
    event = Event.of(event_type, SAMPLES[PAYLOAD_TYPES[event_type]], source="/s", partitionkey="k")
    validator.validate(event.model_dump(mode="json"))


def test_event_schema_rejects_data_of_another_type(schema_dir: Path) -> None:
    validator = _validator(schema_dir / "storelink.sale.recorded.v1.schema.json")
    wrong = Event.of(
        "storelink.product.changed.v1", SAMPLES[ENTITIES[2]], source="/s", partitionkey="k"
    )
    document = wrong.model_dump(mode="json") | {"type": "storelink.sale.recorded.v1"}
    assert list(validator.iter_errors(document))


def test_schema_rejects_float_and_negative_money(schema_dir: Path) -> None:
    validator = _validator(schema_dir / "SaleLine.schema.json")
    line = {"sku": "A", "quantity": "1", "unit_price": "2.50"}
    assert not list(validator.iter_errors(line))
    assert list(validator.iter_errors(line | {"unit_price": 2.5}))
    assert list(validator.iter_errors(line | {"unit_price": "-2.50"}))
    assert list(validator.iter_errors(line | {"colour": "red"}))
