"""Datasets: seeded toy generators, CSV tables, splits and input scaling.

Imports numpy and ``simtreino.core`` only; nothing here knows about the UI.
"""

from simtreino.data.dataset import DataError, Dataset, load_dataset
from simtreino.data.generators import GENERATOR_FUNCS, GENERATORS, n_classes_of, n_targets_of

__all__ = ["DataError", "Dataset", "GENERATORS", "GENERATOR_FUNCS", "load_dataset",
           "n_classes_of", "n_targets_of"]
