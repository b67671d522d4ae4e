"""API Gateway wiring shared by every API function: resolver, error shape, JSON codec, principal."""
