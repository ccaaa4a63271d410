"""Numbers written as words, from num2words rather than a hand-typed table: "six" is 6, "twenty-one" is 21,
"fourth" is the 4th."""

from __future__ import annotations

import re
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
    """The ways a figure is written as words, as a number or an ordinal: "21" -> ["twenty-one", "twenty-first",
    "twenty one", "twenty first"], "4" -> ["four", "fourth"]; none past a hundred or for a figure with a fraction."""
    words = [w for w, digits in digits_of_words().items() if digits == number]
    words += [w for w, figure in ordinal_words().items() if figure[:-2] == number]  # "4th" written "fourth"
    return list(dict.fromkeys([*words, *(w.replace("-", " ") for w in words)]))


@lru_cache(maxsize=1)
def ordinal_words() -> dict[str, str]:
    """English ordinals up to the hundredth with their figure form: "third" -> "3rd", "twenty-first" -> "21st"."""
    from num2words import num2words

    return {num2words(n, to="ordinal"): num2words(n, to="ordinal_num") for n in range(1, _UP_TO + 1)}


def figure_words(text: str, least: int = 2) -> list[tuple[str, list[str]]]:
    """The number and ordinal words of a text from `least` up ("two", "fourth"), each with the other ways the same
    figure is written ("2"; "4th", "4"), in order. "one" and "first", "second" are left out by default: they are
    mostly not figures ("one of them", "for the first time", "a second")."""
    found = []
    cardinals, ordinals = digits_of_words(), ordinal_words()
    for word in re.findall(r"[a-z]+(?:-[a-z]+)?", text.lower()):
        if word in cardinals and int(cardinals[word]) >= least:
            found.append((word, [cardinals[word]]))
        elif word in ordinals and int(ordinals[word][:-2]) >= max(least, 3):
            found.append((word, [ordinals[word], ordinals[word][:-2]]))
    return found
