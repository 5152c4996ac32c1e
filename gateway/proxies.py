"""The client behind the reverse proxy: X-Forwarded-For, believed only from a trusted proxy.

Behind Caddy every request comes from 127.0.0.1, so per-address sign-in limits would count the
whole world as one client. aiohttp-remotes' strict mode takes the client from X-Forwarded-For
only when the connection itself comes from a trusted proxy, and refuses (400) a request that
does not come through it — a client cannot name itself by sending the header.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp.typedefs import Middleware
from aiohttp_remotes import XForwardedStrict

# Probes on the machine itself ask the service directly, not through the proxy.
DIRECT_PATHS = ("/livez", "/readyz", "/healthz")


def forwarded_middleware(trusted: Sequence[str]) -> Middleware | None:
    """None when no proxy is trusted: the connection's own address is the client."""
    if not trusted:
        return None
    return XForwardedStrict([list(trusted)], white_paths=DIRECT_PATHS).middleware
