"""WCAG 2 contrast of an element's text, measured in the browser (Playwright)."""

from __future__ import annotations

import math

from playwright.async_api import Locator

from tests.support.polling import eventually

# The text colour against the first opaque background behind it (shadow roots included).
CONTRAST_JS = """el => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map(v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const up = n => n.parentElement || (n.getRootNode() && n.getRootNode().host) || null;
  let bg = el;
  while (bg && (rgb(getComputedStyle(bg).backgroundColor)[3] ?? 1) === 0) bg = up(bg);
  const fg = lum(rgb(getComputedStyle(el).color));
  const back = lum(rgb(bg ? getComputedStyle(bg).backgroundColor : "rgb(255,255,255)"));
  return (Math.max(fg, back) + 0.05) / (Math.min(fg, back) + 0.05);
}"""

# The relative luminance of the first opaque background behind an element (0 black, 1 white).
BACKGROUND_JS = """el => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const up = n => n.parentElement || (n.getRootNode() && n.getRootNode().host) || null;
  let bg = el;
  while (bg && (rgb(getComputedStyle(bg).backgroundColor)[3] ?? 1) === 0) bg = up(bg);
  const [r, g, b] = rgb(bg ? getComputedStyle(bg).backgroundColor : "rgb(255,255,255)").map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}"""


async def _measured(element: Locator, script: str) -> float:
    async def once() -> list[float] | None:
        # NaN while a live update swaps the element (a detached node has no computed style);
        # in a list, as 0.0 (black) is a measurement too
        value = float(await element.evaluate(script))
        return None if math.isnan(value) else [value]

    [value] = await eventually(once, what="the element's computed colours")
    return value


async def contrast(element: Locator) -> float:
    """The element's text contrast ratio (1 to 21; WCAG AA asks 4.5 of small text)."""
    return await _measured(element, CONTRAST_JS)


async def background_luminance(element: Locator) -> float:
    return await _measured(element, BACKGROUND_JS)
