"""Every text colour of the board's stylesheet is readable: WCAG's 4.5:1 against its background.

The test reads the colours from ``style.css`` itself, so a later change of any colour is
checked too. A rule that sets both a colour and a background is checked as that pair. A rule
that sets a colour alone can sit on any surface of the site (any background declared anywhere), so a dark text colour is checked
against every light background the stylesheet declares and a light one against every dark
background (the site header, the rank badge); only the score bar's band and tick, which never
hold text, are left out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import harness.board.site

STYLESHEET = Path(harness.board.site.__file__).parent / "templates" / "style.css"
MINIMUM = 4.5
NO_TEXT = frozenset({".bar", ".bar .band", ".bar .tick"})  # graphics: never behind text
HEX = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")


def luminance(colour: str) -> float:
    """WCAG 2's relative luminance of ``#rgb`` or ``#rrggbb``."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rules(css: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of every rule, those inside @media included, variables and
    the ``white`` keyword resolved to hex."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {}
        for part in body.split(";"):
            if ":" in part:
                name, value = part.split(":", 1)
                declarations[name.strip()] = value.strip()
        found.append((" ".join(selector.split()), declarations))
    variables = {k: v for s, d in found if s == ":root" for k, v in d.items() if k.startswith("--")}

    def resolve(value: str) -> str:
        value = re.sub(r"var\((--[\w-]+)\)", lambda m: variables[m.group(1)], value)
        return "#ffffff" if value == "white" else value

    return [(s, {k: resolve(v) for k, v in d.items()}) for s, d in found if s != ":root"]


def colour_of(value: str, where: str) -> str:
    assert HEX.fullmatch(value), f"{where}: {value!r} is not a #hex colour this test can check"
    return value


def pairs(css: str) -> list[tuple[str, str, str]]:
    """(where, text colour, background) for every pairing the stylesheet allows."""
    texts, backgrounds, out = [], [], []
    for selector, d in rules(css):
        background = d.get("background", d.get("background-color"))
        if background is not None and selector not in NO_TEXT:
            backgrounds.append((selector, colour_of(background, selector)))
        if "color" in d:
            text = colour_of(d["color"], selector)
            if background is not None:
                out.append((selector, text, colour_of(background, selector)))
            else:
                texts.append((selector, text))
    for where, text in texts:
        light_text = luminance(text) > 0.4
        for surface, background in backgrounds:
            if (luminance(background) < 0.2) == light_text:
                out.append((f"{where} on {surface}", text, background))
    return out


def test_every_text_colour_of_the_stylesheet_reads_at_4_5_to_1() -> None:
    checked = pairs(STYLESHEET.read_text())
    assert len(checked) > 40  # the stylesheet's colours were found, not skipped
    failing = [
        f"{where}: {text} on {background} is {contrast(text, background):.2f}:1"
        for where, text, background in checked
        if contrast(text, background) < MINIMUM
    ]
    assert failing == []


def test_the_check_knows_a_failing_colour_when_it_sees_one() -> None:
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#9aa3ad", "#ffffff") == pytest.approx(2.6, abs=0.05)  # the old grey
    css = ":root { --muted: #9aa3ad; } body { background: #fff; } .x { color: var(--muted); }"
    assert pairs(css) == [(".x on body", "#9aa3ad", "#fff")]
    with pytest.raises(AssertionError, match="not a #hex colour"):
        pairs(".y { color: rgb(1, 2, 3); }")
