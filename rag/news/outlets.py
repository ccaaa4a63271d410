"""Who published a document: its outlet from metadata, the URL's host or a " – Reuters" title suffix; wire credits.

`outlet_key` folds names and domains to one key ("BBC News", "bbc.co.uk" -> "bbc"), so answers can count
independent sources: copies of one outlet's story, or stories credited to one wire agency, count once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

# " – Reuters", " | BBC News", ", — Reuters": a separator, then a short name at the end of a title.
_SUFFIX = re.compile(r"^(?P<head>.{12,}?)\s*(?:,\s*)?(?:\s[-–—|]|\s?[|–—])\s*(?P<name>[^-–—|]{2,40})$")
# Title tails that are a section or format, not a publisher.
_NOT_OUTLETS = {"analysis", "opinion", "live", "live updates", "update", "updates", "explainer", "video", "videos",
                "photos", "review", "interview", "exclusive", "podcast", "comment", "editorial", "report", "news",
                "breaking", "factbox", "timeline", "home", "world", "politics", "business"}
# The wire dateline: "KYIV, March 2 (Reuters) -", "WASHINGTON (AP) —": a city in capitals, the agency in brackets.
_WIRE = re.compile(
    r"^[A-Z][A-Z .'/-]{1,40}(?:,\s*[A-Z][A-Za-z]{2,8}\.?\s+\d{1,2})?\s*"
    r"\((?P<agency>[A-Z][\w&.' -]{0,30})\)\s*[-–—]",
    re.M,
)


def outlet_from_title(title: str | None) -> str | None:
    """The publisher named at the end of a title ("... shaken – Reuters" -> "Reuters"), else None."""
    match = _SUFFIX.match(" ".join((title or "").split()))
    if not match:
        return None
    name = match["name"].strip(" .,:;")
    words = name.split()
    if not 1 <= len(words) <= 4 or any(ch.isdigit() for ch in name) or name.lower() in _NOT_OUTLETS:
        return None
    if not all(w[0].isupper() or not w[0].isalpha() or w.lower() in ("of", "the", "and") for w in words):
        return None  # "... - what we know" is part of the headline
    return name


def outlet_from_url(url: str | None) -> str | None:
    """The site an article URL belongs to, by the public suffix list: "https://www.reuters.com/x" -> "reuters.com",
    "https://edition.cnn.com/x" -> "cnn.com", "https://news.bbc.co.uk/x" -> "bbc.co.uk"; else None."""
    host = _host(url)
    if host is None:
        return None
    return _sites()(host).top_domain_under_public_suffix or host


def _host(url: str | None) -> str | None:
    """The host name of a URL (None when it has none or no dot)."""
    try:
        host = urlsplit((url or "").strip()).hostname
    except ValueError:
        return None
    return host if host and "." in host else None


@lru_cache(maxsize=1)
def _sites():
    """tldextract with the public suffix list snapshot it ships (never fetched: ingestion works offline)."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def wire_credit(text: str, lines: int = 40) -> str | None:
    """The agency a wire dateline near the top credits ("MOSCOW (Reuters) -" -> "Reuters"), else None."""
    head = "\n".join(line.strip() for line in text[:20_000].splitlines()[:lines])
    match = _WIRE.search(head)
    return match["agency"].strip() if match else None


def outlet_key(name: str | None) -> str | None:
    """One key per outlet: lower case, domain reduced to its name, 'the' and a trailing 'news' dropped."""
    if not name or not name.strip():
        return None
    key = name.strip().lower()
    is_domain = re.fullmatch(r"[\w.-]+\.[a-z]{2,}", key)
    host = _host(f"http://{key}") if is_domain else None
    if host:
        key = _sites()(host).domain or key  # news.bbc.co.uk -> bbc
        key = key[3:] if key.startswith("the") and len(key) >= 8 else key  # theguardian.com = The Guardian
    key = re.sub(r"^the\s+|\s+(?:news|online|com)$", "", key)
    return re.sub(r"[\W_]+", "", key) or None


def source_key(origin: str | None, source: str) -> str:
    """Independence key of a document: its origin's outlet key, else (unknown publisher) its own source name."""
    return outlet_key(origin) or f"doc:{source}"
