"""Customers. Their personal data is tokenized at rest by the hub (see ``api``)."""

from __future__ import annotations

from pydantic import EmailStr, Field

from storelink.model.base import CanonicalModel
from storelink.model.types import UtcDateTime


class Address(CanonicalModel):
    street: str = Field(min_length=1, max_length=256)
    city: str = Field(min_length=1, max_length=128)
    postcode: str = Field(min_length=1, max_length=16)
    country: str = Field(pattern=r"^[A-Z]{2}$")


class Customer(CanonicalModel):
    """A person who buys; maps to an Odoo ``res.partner``."""

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=256)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{5,32}$")
    address: Address | None = None
    marketing_consent: bool = False
    updated_at: UtcDateTime
