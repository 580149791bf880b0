"""Which web pages may open the chat widget's Socket.IO connection: the gateway's own pages, and the
lender's sites listed exactly (scheme://host[:port]) in COLLECTIONS_GATEWAY_WEBCHAT_CORS_ORIGINS.
python-engineio alone allows either the same origin or a list, never both; the demo page needs the first,
a lender's site the second."""
from __future__ import annotations

from typing import Any, Callable, Iterable


def own_origins(environ: dict[str, Any]) -> set[str]:
    """The origin a browser sees for this gateway: directly, or through a proxy that says where it forwarded from."""
    scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", "")
    origins = {f"{scheme}://{host}"}
    if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
        forwarded_scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
        forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        origins.add(f"{forwarded_scheme}://{forwarded_host}")
    return origins


def widget_origin_policy(listed: Iterable[str]) -> Callable[[str, dict[str, Any]], bool]:
    allowed = frozenset(listed)

    def is_allowed(origin: str, environ: dict[str, Any]) -> bool:
        return origin in allowed or origin in own_origins(environ)

    return is_allowed
