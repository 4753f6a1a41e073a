"""Which address gets the next escalation when email notifications go round robin."""

from __future__ import annotations

from collections.abc import Sequence

from handoff_plugin.errors import ConfigurationError


def unique_addresses(addresses: Sequence[str]) -> list[str]:
    """The list without repeats (case-insensitive), first spelling kept, order kept."""
    seen: set[str] = set()
    unique = []
    for address in addresses:
        if address.lower() not in seen:
            seen.add(address.lower())
            unique.append(address)
    return unique


def next_recipient(
    recipients: Sequence[str], last: str | None, previous: Sequence[str] = ()
) -> str:
    """The address after `last` in `recipients`, wrapping around.

    When the list changed since `last` was picked from `previous`: if `last` is still listed, the
    rotation simply continues after it (new addresses get their turn where they were inserted);
    if it was removed, the first address that followed it in `previous` and is still listed is
    next; with nothing in common, the rotation starts over at the first address.
    """
    current = unique_addresses(recipients)
    if not current:
        raise ConfigurationError(
            "handoff: email.round_robin is on but email.recipients is empty",
            field="email.recipients",
            value=(),
            allowed='one or more addresses, e.g. "a@example.com; b@example.com"',
        )
    keys = [address.lower() for address in current]
    if last is None:
        return current[0]
    last_key = last.lower()
    if last_key in keys:
        return current[(keys.index(last_key) + 1) % len(current)]
    before = [address.lower() for address in unique_addresses(previous)]
    if last_key in before:
        at = before.index(last_key)
        for candidate in before[at + 1 :] + before[:at]:
            if candidate in keys:
                return current[keys.index(candidate)]
    return current[0]
