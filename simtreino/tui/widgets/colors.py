"""Colours for the plotting widgets: a perceptual colour map and a class palette.

Pure numpy, no UI imports, so anything can use it (and the tests can check a
widget's colours against it). Colours are ``(r, g, b)`` tuples of ints 0..255.

- :func:`colormap` / :func:`colormap_array` map values in [0, 1] to viridis
  (11 published viridis stops, linearly interpolated in RGB; values outside
  [0, 1] are clipped, NaN maps to the colour of 0 -- callers mask NaN first).
- :func:`class_color` gives the colour of class ``k`` from the Tableau 10
  palette (readable on a dark background), in three variants: ``"base"``,
  ``"marker"`` (lighter, for scatter points) and ``"region"`` (darker, for
  the shaded decision regions under the points).
- :func:`blend` mixes two colours; :data:`BACKGROUND` is the dark background
  the region shading fades into at zero confidence.
"""

from __future__ import annotations

import numpy as np

RGB = tuple[int, int, int]

#: Dark background the class regions fade into (Textual's dark theme surface).
BACKGROUND: RGB = (18, 18, 18)

#: viridis at 0, 0.1, ..., 1.0 (matplotlib's viridis, as published by R's viridisLite).
VIRIDIS_STOPS: tuple[RGB, ...] = (
    (68, 1, 84), (72, 36, 117), (65, 68, 135), (53, 95, 141), (42, 120, 142),
    (33, 145, 140), (34, 168, 132), (68, 191, 112), (122, 209, 81),
    (189, 223, 38), (253, 231, 37),
)

#: Blue - near-white - orange, for signed values (like TensorFlow Playground).
DIVERGING_STOPS: tuple[RGB, ...] = (
    (8, 81, 156), (49, 130, 189), (107, 174, 214), (189, 215, 231),
    (232, 232, 232), (253, 208, 162), (253, 174, 107), (241, 105, 19),
    (166, 54, 3),
)

COLORMAPS: dict[str, tuple[RGB, ...]] = {
    "viridis": VIRIDIS_STOPS,
    "diverging": DIVERGING_STOPS,
}

#: Tableau 10 (the 2016 palette): ten distinct colours, readable on dark.
TABLEAU10: tuple[RGB, ...] = (
    (78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178),
    (89, 161, 79), (237, 201, 72), (176, 122, 161), (255, 157, 167),
    (156, 117, 95), (186, 176, 172),
)

#: How far the "marker" variant moves toward white, and the "region"
#: variant toward :data:`BACKGROUND`.
MARKER_LIGHTEN = 0.25
REGION_DARKEN = 0.45


def _stops_array(name: str) -> np.ndarray:
    try:
        return np.asarray(COLORMAPS[name], dtype=np.float64)
    except KeyError:
        raise ValueError(f"unknown colour map {name!r}; known: {', '.join(COLORMAPS)}") from None


def colormap_array(values01, name: str = "viridis") -> np.ndarray:
    """Map values in [0, 1] to colours: an array of shape ``values.shape + (3,)``, uint8.

    Values are clipped to [0, 1]; NaN maps to the colour of 0 (mask it first
    if it must look different).
    """
    stops = _stops_array(name)
    v = np.nan_to_num(np.asarray(values01, dtype=np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    v = np.clip(v, 0.0, 1.0) * (len(stops) - 1)
    lo = np.minimum(np.floor(v).astype(np.intp), len(stops) - 2)
    t = (v - lo)[..., None]
    rgb = stops[lo] * (1.0 - t) + stops[lo + 1] * t
    return np.rint(rgb).astype(np.uint8)


def colormap(values01, name: str = "viridis") -> list[RGB]:
    """Map a sequence of values in [0, 1] to a list of ``(r, g, b)`` tuples."""
    arr = colormap_array(np.ravel(np.asarray(values01, dtype=np.float64)), name)
    return [(int(r), int(g), int(b)) for r, g, b in arr]


def blend(c1, c2, t: float) -> RGB:
    """``c1`` moved a fraction ``t`` (0..1) of the way toward ``c2``."""
    t = min(max(float(t), 0.0), 1.0)
    return tuple(int(round(a + (b - a) * t)) for a, b in zip(c1, c2))  # type: ignore[return-value]


def class_color(k: int, variant: str = "base", background: RGB = BACKGROUND) -> RGB:
    """Colour of class ``k`` (wraps around after 10 classes).

    ``variant``: ``"base"`` the palette colour; ``"marker"`` lighter, for the
    points of that class; ``"region"`` darker, the full-confidence shading of
    that class's region (blended toward ``background``).
    """
    base = TABLEAU10[int(k) % len(TABLEAU10)]
    if variant == "base":
        return base
    if variant == "marker":
        return blend(base, (255, 255, 255), MARKER_LIGHTEN)
    if variant == "region":
        return blend(base, background, REGION_DARKEN)
    raise ValueError(f"unknown class colour variant {variant!r}: base, marker or region")


def class_colors_array(variant: str = "base", background: RGB = BACKGROUND) -> np.ndarray:
    """All ten class colours of ``variant`` as a (10, 3) float array."""
    return np.asarray([class_color(k, variant, background) for k in range(len(TABLEAU10))],
                      dtype=np.float64)


def hex_color(rgb) -> str:
    """``(r, g, b)`` -> ``"#rrggbb"``."""
    r, g, b = (int(c) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"
