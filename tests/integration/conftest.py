"""Integration tests: moto in-process, every table, queue, secret and parameter built from
template.yaml, the functions invoked through the template's routes and authorizer."""

from tests.integration.fixtures import api, demo, pollers, stack, stream_pollers

__all__ = ["api", "demo", "pollers", "stack", "stream_pollers"]
