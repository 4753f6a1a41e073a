"""Outbound requests only to public addresses (SSRF): resolve, check every address, pin it.

A webhook URL is chosen by whoever can change settings, and the test webhook takes any URL an
admin types, so without this check the server could be made to POST to its own loopback services,
the private network or a cloud metadata endpoint (169.254.169.254). `GuardedTransport` resolves
the host with the event loop's getaddrinfo, refuses if ANY address is not global, and hands the
checked addresses to the transport, which connects to exactly those: a DNS answer that changes
between the check and the connection (rebinding) is never used. Everything happens before a
socket is opened. `webhook.allow_private_addresses: true` turns the check off (local receivers,
tests, the demo).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence

import structlog

from handoff_plugin.addresses import check_http_url, non_global_kind, url_host_port
from handoff_plugin.delivery.transports import HttpReply, HttpTransport, TransportError
from handoff_plugin.errors import DeliveryError

log = structlog.get_logger(__name__)

SETTING = "webhook.allow_private_addresses"

# host, port -> the IP addresses a connection may use
Resolve = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(DeliveryError):
    """The URL is malformed, or its host is (or resolves to) a non-public address. Permanent:
    sending again cannot help; the message says which setting allows it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


async def resolve_with_loop(host: str, port: int) -> list[str]:
    """Every address the event loop's resolver gives for `host` (never blocks the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_ip(host: str) -> bool:
    try:
        non_global_kind(host)
    except ValueError:
        return False
    return True


class GuardedTransport:
    """An `HttpTransport` that refuses non-public destinations and pins the checked addresses."""

    def __init__(
        self,
        inner: HttpTransport,
        *,
        allow_private: bool = False,
        resolve: Resolve = resolve_with_loop,
    ) -> None:
        self.inner = inner
        self.allow_private = allow_private
        self.resolve = resolve

    async def post(
        self,
        url: str,
        *,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,
        addresses: Sequence[str] | None = None,
    ) -> HttpReply:
        try:
            check_http_url(url)
        except ValueError as error:
            raise AddressRefused(f"webhook.url {error}") from None
        if self.allow_private:
            return await self.inner.post(url, body=body, headers=headers, timeout=timeout)
        host, port = url_host_port(url)
        checked = await self._public_addresses(host, port, timeout)
        return await self.inner.post(
            url, body=body, headers=headers, timeout=timeout, addresses=checked
        )

    async def _public_addresses(self, host: str, port: int, timeout: float) -> list[str]:
        if _is_ip(host):
            found = [host]
        else:
            try:
                found = await asyncio.wait_for(self.resolve(host, port), timeout)
            except asyncio.TimeoutError:
                raise TransportError(f"{host} did not resolve within {timeout:g} s") from None
            except OSError as error:  # socket.gaierror: unknown host, or DNS unreachable
                raise TransportError(f"{host} did not resolve: {error}") from error
            if not found:
                raise TransportError(f"{host} did not resolve to any address")
        for address in found:
            kind = non_global_kind(address)
            if kind is not None:
                log.warning("handoff.webhook.address_refused", host=host, kind=kind)
                shown = host if host == address else f"{host} resolves to {address}, which"
                raise AddressRefused(
                    f"{shown} is a {kind} address; webhooks are only sent to public internet "
                    f"addresses unless {SETTING} is true (set it for a receiver on this machine "
                    "or your own network)"
                )
        return found
