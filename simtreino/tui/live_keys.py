"""What the network dashboard and the race screen share: keys declared as
one list (footer, help screen and command palette all read it), a redraw
nudge after each key, and the play / step / speed actions on a session."""

from textual.app import SystemCommand

from simtreino.i18n import t

KEY_DISPLAY = {"space": "space", "plus,equals_sign": "+", "minus": "-",
               "left_square_bracket": "[", "right_square_bracket": "]", "comma": ",",
               "full_stop": ".", "question_mark": "?", "exclamation_mark": "!"}


class LiveKeys:
    """Mixin for an App with ``KEYS`` [(keys, action, message key, in footer)],
    a ``session`` and a ``redraw`` method."""

    KEYS: list = []
    HELP_PANELS: tuple | None = None       # None: the help screen's default panels

    def bind_keys(self) -> None:
        for keys, action, desc, show in self.KEYS:
            self.bind(keys, action, description=t(desc), show=show,
                      key_display=KEY_DISPLAY.get(keys))

    def _nudge(self) -> None:
        """Look for the worker's answer to a key sooner than the next frame."""
        for delay in (0.008, 0.02, 0.035):
            self.set_timer(delay, self.redraw)

    def on_key(self, event) -> None:
        self._nudge()

    def action_toggle(self) -> None:
        self.session.toggle()

    def action_step(self) -> None:
        self.session.step(1)

    def action_faster(self) -> None:
        self.session.faster()

    def action_slower(self) -> None:
        self.session.slower()

    def action_help(self) -> None:
        """Our keys only: Textual's own (focus, copy) are not part of the lesson."""
        from .screens import HelpScreen
        rows = [(KEY_DISPLAY.get(keys, keys), t(desc)) for keys, _, desc, _ in self.KEYS]
        rows.append(("ctrl+p", t("binding.palette")))
        kw = {} if self.HELP_PANELS is None else {"panels": self.HELP_PANELS}
        self.push_screen(HelpScreen(rows, **kw))

    def action_open(self) -> None:
        from .screens.picker import ScenarioPicker
        self.push_screen(ScenarioPicker(), self._open_scenario)

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        for keys, action, desc, _ in self.KEYS:
            yield SystemCommand(t(desc), f"{t('palette.key')} {KEY_DISPLAY.get(keys, keys)}",
                                (lambda a=action: self.run_action(a)))
