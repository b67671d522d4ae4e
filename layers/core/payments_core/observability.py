"""The one Logger of the platform (structured JSON, correlation id from the request)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="payments")
