"""Numbers written as words, from num2words rather than a hand-typed table: "six" is 6, "twenty-one" is 21."""

from __future__ import annotations

from functools import lru_cache

_UP_TO = 100  # spelled numbers past a hundred ("three hundred and forty") are rare in claims and quiz choices


@lru_cache(maxsize=1)
def digits_of_words() -> dict[str, str]:
    """English number words up to a hundred as digits: "six" -> "6", "twenty-one" -> "21", "hundred" -> "100"
    (as in "a hundred")."""
    from num2words import num2words  # small, pure Python; imported only when a number needs its word

    table = {num2words(n): str(n) for n in range(_UP_TO + 1)}
    table[num2words(_UP_TO).split()[-1]] = str(_UP_TO)
    return table


def spelled(number: str) -> list[str]:
    """The ways a figure is written as words: "21" -> ["twenty-one", "twenty one"], "100" -> ["one hundred",
    "hundred"]; none past a hundred or for a figure with a fraction."""
    words = [w for w, digits in digits_of_words().items() if digits == number]
    return list(dict.fromkeys([*words, *(w.replace("-", " ") for w in words)]))
