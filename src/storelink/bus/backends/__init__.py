"""Event log backends: ``embedded`` (SQLite) and ``nats`` (NATS JetStream)."""
