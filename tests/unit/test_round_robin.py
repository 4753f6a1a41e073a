import pytest

from handoff_plugin.delivery.round_robin import next_recipient
from handoff_plugin.errors import ConfigurationError

TEAM = ["a@x.test", "b@x.test", "c@x.test"]


def rotate(recipients: list[str], times: int, last: str | None = None) -> list[str]:
    picked = []
    for _ in range(times):
        last = next_recipient(recipients, last, recipients)
        picked.append(last)
    return picked


def test_each_address_gets_its_turn_in_order_and_wraps_around() -> None:
    assert rotate(TEAM, 7) == TEAM * 2 + ["a@x.test"]


def test_a_new_address_gets_its_turn_where_it_was_added() -> None:
    assert next_recipient(["a@x.test", "b@x.test", "d@x.test", "c@x.test"], "b@x.test", TEAM) == (
        "d@x.test"
    )


def test_when_the_last_address_was_removed_the_one_after_it_is_next() -> None:
    assert next_recipient(["a@x.test", "c@x.test"], "b@x.test", TEAM) == "c@x.test"
    assert next_recipient(["a@x.test"], "c@x.test", TEAM) == "a@x.test"


def test_with_nothing_in_common_the_rotation_starts_over() -> None:
    assert next_recipient(["x@y.test", "z@y.test"], "b@x.test", TEAM) == "x@y.test"


def test_addresses_match_case_insensitively_and_repeats_count_once() -> None:
    assert next_recipient(["A@x.test", "b@x.test", "a@X.test"], "a@x.test", TEAM) == "b@x.test"
    assert next_recipient(["A@x.test", "b@x.test", "a@X.test"], "b@x.test", TEAM) == "A@x.test"


def test_round_robin_without_recipients_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as error:
        next_recipient([], None)
    assert error.value.field == "email.recipients"
