"""The message catalogue: complete in both languages, same placeholders."""

import subprocess
import sys
from types import SimpleNamespace

import pytest

from simtreino import i18n
from simtreino.core.optimizers import OPTIMIZERS
from simtreino.core.schedules import SCHEDULES
from simtreino.i18n import (LANGS, MESSAGES, default_lang, doc_text, expected_text,
                            placeholders, scenario_description, scenario_name, set_lang,
                            t)


@pytest.fixture
def lang():
    before = i18n.get_lang()
    yield set_lang
    set_lang(before)


def test_every_key_has_both_languages_and_the_same_placeholders():
    assert LANGS == ("en", "pt")
    for key, entry in MESSAGES.items():
        assert set(entry) == set(LANGS), key
        for text in entry.values():
            assert isinstance(text, str) and text.strip(), key
        assert placeholders(entry["en"]) == placeholders(entry["pt"]), key


def test_keys_are_grouped_names():
    for key in MESSAGES:
        group, _, rest = key.partition(".")
        assert group and rest and key == key.strip(), key


def test_t_in_both_languages(lang):
    lang("en")
    assert t("state.paused") == "paused"
    assert t("msg.params_saved", path="w.npz") == "Parameters saved to w.npz"
    assert t("speed.value", n=200) == "200 steps/s"
    lang("pt")
    assert t("state.paused") == "pausado"
    assert t("header.batch_full") == "completo"
    assert t("msg.params_saved", path="w.npz") == "Parâmetros salvos em w.npz"
    assert t("msg.terminal_too_small", w=60, h=20, min_w=100, min_h=30) == (
        "Este terminal tem 60×20; o simtreino precisa de pelo menos 100×30.")
    assert "taxa de aprendizado (0.9)" in t("msg.diverged", step=12, what="inf", lr=0.9)


def test_the_texts_the_brief_fixes(lang):
    lang("en")
    assert t("state.compiling") == "compiling kernels (first run only)…"
    assert t("msg.diverged", step=7, what="nan", lr=5.0) == (
        "Training diverged at step 7: the loss became nan. The learning rate (5.0) is "
        "probably too high — lower it (key h) and reset (r).")
    lang("pt")
    assert t("state.compiling") == "compilando os kernels (só na primeira vez)…"


def test_unknown_key_is_an_error_in_tests_and_the_key_itself_otherwise(monkeypatch):
    with pytest.raises(KeyError):
        t("no.such.key")
    with pytest.raises(KeyError):
        t("msg.params_saved")            # a placeholder without its value
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    monkeypatch.delenv("SIMTREINO_STRICT_I18N", raising=False)
    assert t("no.such.key") == "no.such.key"
    assert t("msg.params_saved") == t("msg.params_saved", path="{path}")


def test_set_lang_refuses_other_languages():
    with pytest.raises(ValueError):
        set_lang("fr")


@pytest.mark.parametrize("env, expected", [
    ({"LANG": "pt_BR.UTF-8"}, "pt"),
    ({"LANG": "pt_PT"}, "pt"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LC_ALL": "pt_BR.UTF-8", "LANG": "en_US.UTF-8"}, "pt"),
    ({"LC_MESSAGES": "pt_BR.UTF-8", "LANG": "C"}, "pt"),
    ({"LC_ALL": "C", "LANG": "pt_BR.UTF-8"}, "en"),      # LC_ALL wins (POSIX)
    ({"LC_ALL": "", "LANG": "pt_BR"}, "pt"),              # empty means unset
    ({"SIMTREINO_LANG": "en", "LANG": "pt_BR"}, "en"),
    ({"SIMTREINO_LANG": "pt", "LANG": "en_US"}, "pt"),
])
def test_default_lang_from_the_locale(env, expected):
    assert default_lang(env) == expected


@pytest.mark.parametrize("field,text", [(scenario_name, "name"),
                                        (scenario_description, "description")])
def test_scenario_texts_in_portuguese_fall_back_to_english(field, text):
    both = SimpleNamespace(**{text: "Two inputs", text + "_pt": "Duas entradas"})
    en_only = SimpleNamespace(**{text: "Two inputs", text + "_pt": ""})
    assert field(both, "pt") == "Duas entradas"
    assert field(both, "en") == "Two inputs"
    assert field(en_only, "pt") == "Two inputs"


def test_every_core_hyperparameter_doc_is_translated(lang):
    lang("pt")
    docs = {h.doc for _, decl in list(OPTIMIZERS.values()) + list(SCHEDULES.values())
            for h in decl.values()}
    missing = sorted(d for d in docs if doc_text(d) == d)
    assert missing == []


def test_expected_text_translates_every_hyper_message(lang):
    messages = set()
    for _, decl in list(OPTIMIZERS.values()) + list(SCHEDULES.values()):
        for h in decl.values():
            for bad in ("x", -1, float("inf"), [2.0, 2.0], 10 ** 9, 0.5):
                try:
                    h.check(bad)
                except ValueError as e:
                    messages.add(str(e))
    lang("en")
    assert expected_text("a number >= 0") == "expected a number >= 0"
    lang("pt")
    assert expected_text("a number >= 0") == "valor esperado: um número >= 0"
    assert expected_text("numbers in [0, 1)") == "valor esperado: números em [0, 1)"
    for m in messages:   # no English noun is left in the Portuguese text
        out = expected_text(m)
        assert out.startswith("valor esperado: ") and " a " not in out and "number" not in out, m


def test_the_catalogue_does_not_import_the_ui():
    code = ("import sys, simtreino.i18n; "
            "print(','.join(m for m in ('textual', 'rich', 'plotext') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_thousands_are_never_grouped_with_the_decimal_point(lang):
    # the interface writes 0.25 in both languages: a Portuguese "109.386"
    # would read as a decimal, and so would "109,386" to a Brazilian
    from simtreino.i18n import grouped
    lang("en")
    assert grouped(109386) == "109,386" and grouped(999.6) == "1,000"
    lang("pt")
    assert grouped(109386) == "109\u00a0386" and grouped(72) == "72"
