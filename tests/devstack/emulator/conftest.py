"""The local emulator's own pieces (event source pollers, moto fixes, the moto server) against moto in-process:
the integration tests' fixtures (a stack provisioned from template.yaml)."""

from tests.integration.fixtures import api, demo, pollers, stack, stream_pollers

__all__ = ["api", "demo", "pollers", "stack", "stream_pollers"]
