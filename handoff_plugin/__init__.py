"""rasa-handoff: human handoff for Rasa."""

from handoff_plugin.errors import (
    ConfigurationError,
    DeliveryError,
    HandoffError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)

__all__ = [
    "ConfigurationError",
    "DeliveryError",
    "HandoffError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
]
__version__ = "0.1.0"
