"""One web request, made carefully: http(s) only; every address the host resolves to is checked (private,
link-local, loopback and other non-public addresses are refused unless settings.web.allow_private); redirects are
followed by hand up to a limit, each hop checked again; one deadline covers the whole request; the body is capped
while it downloads; the content type must be one the caller reads. Every failure is an IngestError of one line
naming the URL and what to do.

(The address is checked before httpx connects, and httpx resolves the name again: a DNS server that answers
differently the second time could still steer a request. Pinning the checked address would close that.)
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ..config import WebSettings
from ..errors import IngestError

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml")
MB = 1024 * 1024


@dataclass(frozen=True)
class Response:
    """What a request gave: the final URL, 200 with a body or 304 (not modified) without one, and the headers a
    later request needs to ask "changed since?"."""

    url: str
    status: int
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None


def fetch(url: str, web: WebSettings, accept: tuple[str, ...], etag: str | None = None,
          last_modified: str | None = None) -> Response:
    """GET `url` within the limits of `web`; with `etag`/`last_modified`, a 304 means the page has not changed."""
    import httpx

    deadline = time.monotonic() + web.timeout_s
    conditional = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if v}
    timeout = httpx.Timeout(web.timeout_s, connect=min(5.0, web.timeout_s))
    with httpx.Client(follow_redirects=False, timeout=timeout, headers={"User-Agent": web.user_agent}) as client:
        current = url
        for _ in range(web.max_redirects + 1):
            check_address(current, web.allow_private)
            try:
                with client.stream("GET", current, headers=conditional) as response:
                    if response.is_redirect and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    return _read(url, current, response, web, accept, deadline)
            except httpx.TimeoutException:
                raise IngestError(f"{url}: no answer within {web.timeout_s:g} s: try again later or raise "
                                  "RAG_WEB__TIMEOUT_S") from None
            except httpx.HTTPError as error:
                raise IngestError(f"{url}: could not fetch ({type(error).__name__}): check the address and "
                                  "your connection") from None
    raise IngestError(f"{url}: more than {web.max_redirects} redirects (a loop?): use the page's final address")


def _read(url: str, final: str, response, web: WebSettings, accept: tuple[str, ...], deadline: float) -> Response:
    """The response of `final` (where `url` led) within the size cap and the deadline, after its status and type
    are checked; errors name `url`, the address the user gave."""
    headers = response.headers
    if response.status_code == 304:
        return Response(final, 304, etag=headers.get("etag"), last_modified=headers.get("last-modified"))
    if response.status_code >= 400:
        raise IngestError(f"{url}: the server answered HTTP {response.status_code}: check the address")
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in accept:
        raise IngestError(f"{url}: is {kind or 'of no stated type'}, not a page rag reads "
                          f"({', '.join(accept)}): give the address of the article itself")
    cap = int(web.max_page_mb * MB)
    if int(headers.get("content-length") or 0) > cap:
        raise IngestError(f"{url}: larger than {web.max_page_mb:g} MB: raise RAG_WEB__MAX_PAGE_MB to read it")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > cap:
            raise IngestError(f"{url}: larger than {web.max_page_mb:g} MB: raise RAG_WEB__MAX_PAGE_MB to read it")
        if time.monotonic() > deadline:
            raise IngestError(f"{url}: still downloading after {web.timeout_s:g} s: try again later or raise "
                              "RAG_WEB__TIMEOUT_S")
    return Response(final, 200, bytes(body), kind, headers.get("etag"), headers.get("last-modified"))


def check_address(url: str, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), or whose host resolves to an address that is not public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IngestError(f"{url}: not an http(s) address: give a URL such as https://example.com/article")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise IngestError(f"{url}: the host {parts.hostname} is not known: check the address") from None
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise IngestError(f"{url}: {parts.hostname} is a private, loopback or link-local address "
                              f"({address}): refused by default; set RAG_WEB__ALLOW_PRIVATE=true (or pass "
                              "--allow-private) for an intranet")
