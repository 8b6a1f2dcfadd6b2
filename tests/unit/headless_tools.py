"""Small, fast scenarios written to a temporary folder for the headless tests."""

import textwrap

MOONS = """\
name = "{name}"
description = "Two moons, a few epochs: fast enough for every test."
seed = {seed}

[data]
source = "moons"
n_samples = 120
noise = 0.1
split = {{ train = 0.6, val = 0.2, test = 0.2 }}

[model]
init = "xavier_uniform"
layers = [ {{ units = 8, activation = "tanh" }}, {{ units = 1, activation = "sigmoid" }} ]

[loss]
kind = "bce"

[optimizer]
kind = "sgd"
lr = {lr}
momentum = 0.9

[training]
batch_size = 12
epochs = {epochs}
{extra_training}
{expect}
"""


def write_moons(folder, name="moons", *, seed=0, lr=0.1, epochs=5, expect="",
                extra_training="", filename=None):
    """A moons scenario (72 training samples, batch 12: 6 steps an epoch)."""
    text = MOONS.format(name=name, seed=seed, lr=lr, epochs=epochs,
                        expect=textwrap.dedent(expect), extra_training=extra_training)
    path = folder / (filename or f"{name}.toml")
    path.write_text(text, encoding="utf-8")
    return path


CSV_SCENARIO = """\
name = "flowers"
description = "A csv next to its scenario."

[data]
source = "csv"
path = "flowers.csv"
target = "species"
task = "classification"

[model]
layers = [ { units = 4, activation = "tanh" }, { units = 3, activation = "softmax" } ]

[loss]
kind = "cross_entropy"

[optimizer]
kind = "adam"
lr = 0.05

[training]
epochs = 4
"""
