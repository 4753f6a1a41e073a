"""An in-memory notifier for fast tests: records what it was asked to send, answers as scripted."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from handoff_plugin.delivery.notifiers.base import DeliveryResult, Notification


class RecordingNotifier:
    """`RecordingNotifier("webhook", [DeliveryResult.retry("503")])` fails once, then delivers."""

    def __init__(self, kind: str, results: Iterable[DeliveryResult] = ()) -> None:
        self.kind = kind
        self.sent: list[Notification] = []
        self.results: deque[DeliveryResult] = deque(results)

    def will_answer(self, *results: DeliveryResult) -> None:
        self.results.extend(results)

    async def send(self, notification: Notification) -> DeliveryResult:
        self.sent.append(notification)
        return self.results.popleft() if self.results else DeliveryResult.delivered()
