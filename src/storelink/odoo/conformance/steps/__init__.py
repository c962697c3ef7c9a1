"""The steps of the conformance scenario, one module per area; see :mod:`..scenario`."""
