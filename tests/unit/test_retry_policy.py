from handoff_plugin.config.settings import DeliverySettings
from handoff_plugin.delivery.outbox import RetryPolicy


def test_the_default_schedule_backs_off_exponentially_over_about_a_day() -> None:
    policy = RetryPolicy.from_settings(DeliverySettings())
    waits = policy.schedule()
    assert waits[:4] == [10, 20, 40, 80]
    assert max(waits) == 4 * 3600
    assert 20 * 3600 <= sum(waits) <= 24 * 3600
    assert 12 <= len(waits) <= 20


def test_jitter_spreads_retries_by_at_most_a_fifth() -> None:
    policy = RetryPolicy(initial_delay=100, max_delay=1000, give_up_after=86400)
    assert policy.delay(1, lambda: 0.0) == 80
    assert policy.delay(1, lambda: 0.999999) < 120
    assert policy.delay(5, lambda: 0.5) == 1000  # capped
