"""rasa-handoff: human handoff for Rasa."""

import sys

import structlog

from handoff_plugin.errors import (
    ConfigurationError,
    DeliveryError,
    HandoffError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unavailable,
)

__all__ = [
    "ConfigurationError",
    "DeliveryError",
    "HandoffError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "Unavailable",
]
__version__ = "0.1.0"

# Log lines go to stderr, so a command's output (`handoff deliveries | ...`) stays clean. `rasa run`
# configures structlog itself before it loads this package; that configuration is kept.
if not structlog.is_configured():
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
