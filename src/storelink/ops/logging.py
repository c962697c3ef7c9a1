"""Structured JSON logs that carry a correlation id and the current trace.

Every log line is one JSON object. Inside a request (or any unit of work) bind
context once with :func:`bind_correlation` and every line logged below it in
the same task carries ``correlation_id``, ``trace_id`` and ``span_id``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from opentelemetry import trace

from storelink.config.sections import ObservabilitySettings


def _add_trace(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


def configure_logging(
    settings: ObservabilitySettings | None = None, *, stream: TextIO | None = None
) -> None:
    """Set up structlog (and route stdlib logging through the same output)."""
    settings = settings or ObservabilitySettings()
    level = getattr(logging, settings.log_level.upper())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_trace,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(level, logging.WARNING), stream=stream or sys.stderr)


def bind_correlation(correlation_id: str, **context: Any) -> None:
    """Attach ``correlation_id`` (and any extra context) to every later line in this task."""
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id, **context)


def clear_context() -> None:
    structlog.contextvars.clear_contextvars()


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
