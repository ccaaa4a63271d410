"""Text a human reader of a page or a file never sees: where planted orders hide.

HTML: comments, elements hidden by attribute, inline style or a class rule of the page's own <style> (display:none,
visibility:hidden, zero font size, zero opacity, white text on white or no background, pushed off-screen), alt and
title attributes, meta fields. (aria-hidden is left alone: it hides from screen readers, not from eyes.)
Any text: Unicode tag characters (U+E0020-E007E), invisible letters that spell ASCII to a model's tokenizer.
Only the text is returned; steering.py decides whether it steers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Inline styles that hide an element from readers. White text counts only without a background of its own.
_HIDING_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$)"
    r"|(?:left|top|text-indent)\s*:\s*-\d{4,}|(?:height|width)\s*:\s*0(?:px)?\s*;[^\"']*overflow\s*:\s*hidden",
    re.IGNORECASE,
)
_WHITE = r"(?:#f{3}(?:f{3})?\b|white\b|rgba?\(\s*255\s*,\s*255\s*,\s*255)"
_WHITE_TEXT = re.compile(rf"(?:^|[;{{\s])color\s*:\s*{_WHITE}", re.IGNORECASE)
_BACKGROUND = re.compile(r"background(?:-color)?\s*:\s*([^;]+)", re.IGNORECASE)
_CLASS_RULE = re.compile(r"\.([\w-]+)\s*\{([^{}]*)\}")
_META_FIELDS = ("description", "keywords", "og:description", "twitter:description", "og:title", "author", "abstract")
_TAG_CHARS = re.compile("[\U000E0020-\U000E007E]{4,}")


@dataclass(frozen=True)
class HiddenText:
    """A piece of hidden text and where it hid ("HTML comment", "display:none element", ...)."""

    where: str
    text: str


def _style_hides(style: str) -> str | None:
    """Why an inline style hides its element, or None."""
    if m := _HIDING_STYLE.search(style):
        return f"{' '.join(m.group(0).split())} element"
    background = _BACKGROUND.search(style)
    if _WHITE_TEXT.search(style) and (background is None or re.match(_WHITE, background.group(1).strip(), re.I)):
        return "white-on-white text"
    return None


def _hiding_classes(root) -> dict[str, str]:
    """Class names whose rule in the page's <style> blocks hides text, and why."""
    css = " ".join(style.text or "" for style in root.iter("style"))
    return {name: why for name, body in _CLASS_RULE.findall(css) if (why := _style_hides(body))}


def _element_hiding(element, classes: dict[str, str]) -> str | None:
    """Why an lxml element is hidden from readers, or None."""
    if element.get("hidden") is not None:
        return "hidden element"
    for name in (element.get("class") or "").split():
        if name in classes:
            return classes[name]
    return _style_hides(element.get("style") or "")


def _attribute_texts(element) -> list[HiddenText]:
    """alt/title attributes, and the content of the meta fields that describe a page."""
    found = [HiddenText(f"{name} attribute", value) for name in ("alt", "title")
             if len((value := element.get(name) or "").split()) >= 4]
    if element.tag == "meta":
        name = (element.get("name") or element.get("property") or "").lower()
        if name in _META_FIELDS and (content := element.get("content") or "").strip():
            found.append(HiddenText(f"meta {name}", content))
    return found


def hidden_html_texts(markup: str) -> list[HiddenText]:
    """Every piece of text in `markup` a reader of the rendered page does not see (empty if it cannot parse)."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return []
    found: list[HiddenText] = []
    classes = _hiding_classes(root)
    for node in root.iter():
        if node.tag is etree.Comment:
            if (text := (node.text or "").strip()):
                found.append(HiddenText("HTML comment", text))
            continue
        if not isinstance(node.tag, str) or node.tag in ("script", "style", "template", "noscript"):
            continue
        if (why := _element_hiding(node, classes)) and (text := " ".join(node.text_content().split())):
            found.append(HiddenText(why, text))
        found.extend(_attribute_texts(node))
    return found


def tag_character_texts(text: str) -> list[HiddenText]:
    """Runs of Unicode tag characters, decoded to the ASCII they spell (flag emoji use short runs: left alone)."""
    found = []
    for m in _TAG_CHARS.finditer(text):
        decoded = "".join(chr(ord(ch) - 0xE0000) for ch in m.group(0))
        if " " in decoded or len(decoded) > 8:
            found.append(HiddenText("invisible tag characters", decoded))
    return found
