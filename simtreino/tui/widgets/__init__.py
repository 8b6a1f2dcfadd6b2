"""Reusable plotting widgets of the dashboard.

Each widget takes plain numpy arrays through ``set_*`` methods, keeps its
rendered text and redraws only when its data or its size changed, and never
fails on odd sizes or non-finite data. They compute nothing about training.

- :class:`Heatmap` -- half-block 2-D fields (loss surfaces, decision regions,
  digits) with scatter points, paths, axes and a colour bar / class legend;
- :class:`LinePlot` -- curves and distribution bands through plotext, log y;
- :class:`Histogram` -- one histogram with eighth-block bars;
- :class:`DigitStrip` -- digit images with "label → prediction (confidence)";
- :class:`ConfusionMatrix` -- class counts shaded by row, per-class accuracy;
- :class:`WeightImages` -- first-layer weights as images, diverging colours;
- :mod:`.colors` -- viridis colour map and the class palette.
"""

from .colors import BACKGROUND, blend, class_color, colormap, colormap_array
from .confusion import ConfusionMatrix
from .digits import DigitStrip
from .heatmap import Heatmap
from .histogram import Histogram
from .lineplot import Band, LinePlot, Series
from .weight_images import WeightImages

__all__ = [
    "BACKGROUND", "Band", "ConfusionMatrix", "DigitStrip", "Heatmap", "Histogram", "LinePlot",
    "Series", "WeightImages", "blend", "class_color", "colormap", "colormap_array",
]
