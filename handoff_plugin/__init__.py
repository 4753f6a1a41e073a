"""rasa-handoff: human handoff for Rasa."""

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
