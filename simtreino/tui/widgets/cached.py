"""The redraw rule every plotting widget follows: keep the last picture and
rebuild it only when the data (a version counter bumped by each ``set_*``)
or the widget's size changed. ``render_count`` counts real rebuilds."""

from rich.text import Text


def set_texts(widget, **texts) -> None:
    """Set the given text attributes (title, xlabel, ...); ``None`` keeps one."""
    for name, value in texts.items():
        if value is not None:
            setattr(widget, name, value)


class CachedRender:
    """Mixin for a Widget with ``_build(width, height) -> Text``."""

    def _init_cache(self) -> None:
        self._version = 0
        self._cache: Text | None = None
        self._cache_key: tuple | None = None
        self.render_count = 0

    def _changed(self) -> None:
        self._version += 1
        self.refresh()

    def _key(self) -> tuple:
        return (self._version, self.size.width, self.size.height)

    @property
    def is_stale(self) -> bool:
        return self._cache is None or self._cache_key != self._key()

    def render(self) -> Text:
        key = self._key()
        if self._cache is not None and self._cache_key == key:
            return self._cache
        self._cache = self._build(self.size.width, self.size.height)
        self._cache_key = key
        self.render_count += 1
        return self._cache
