"""The hub's HTTP API: ``/v1`` resources, auth, policies, problem+json errors."""

from storelink.api.app import create_app

__all__ = ["create_app"]
