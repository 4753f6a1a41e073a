"""Fixtures of tests/security: the real in-process servers the attacks run against."""

from tests.integration.conftest import (  # noqa: F401
    action_server,
    agent,
    livechat_server,
    notification_servers,
)
from tests.integration.inbox.conftest import ann, inbox, make_client  # noqa: F401
