"""Reading a table of numbers (and one target column) from a CSV file.

The file needs a header row; the target column is named by the scenario and
every other column is a numeric feature. Every problem is reported as a
one-line ``DataError`` naming the file and, where there is one, the column
and row. Rows are counted as in a spreadsheet: the header is row 1.
"""

import csv
import math
from pathlib import Path

import numpy as np

from simtreino.data.errors import DataError

TASKS = ("classification", "regression")


def load_csv(path: Path, target: str, task: str):
    """Return ``(x, y, feature_names, class_names)`` read from ``path``.

    ``x`` is float64 ``(n, features)``. For classification ``y`` is int64
    ``(n,)`` and ``class_names`` the sorted labels (text, or whole numbers
    sorted by value); for regression ``y`` is float64 ``(n, 1)`` and
    ``class_names`` is empty.
    """
    path = Path(path)
    name = path.name
    if task not in TASKS:
        raise DataError(f"{name}: task must be 'classification' or 'regression', not {task!r}")
    header, rows = _read_rows(path)
    t = _target_index(name, header, target)
    features = [j for j in range(len(header)) if j != t]
    if not features:
        raise DataError(f"{name}: no feature columns besides the target '{target}'")
    x = np.array([[_number(name, header[j], row, cells[j]) for j in features]
                  for row, cells in rows], dtype=np.float64).reshape(len(rows), len(features))
    cells = [(row, c[t].strip()) for row, c in rows]
    if task == "regression":
        y = np.array([_number(name, target, row, c) for row, c in cells], dtype=np.float64)
        return x, y[:, None], tuple(header[j] for j in features), ()
    y, class_names = _classes(name, target, cells)
    return x, y, tuple(header[j] for j in features), class_names


def _read_rows(path: Path):
    """Header (stripped names) and the data rows as (row number, cells), blank lines skipped."""
    name = path.name
    try:
        # utf-8-sig: spreadsheet programs often start the file with a byte-order mark.
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            try:
                rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
            except csv.Error as e:
                raise DataError(f"{name}: row {reader.line_num}: {e}") from None
    except FileNotFoundError:
        raise DataError(f"{name}: file not found ({path})") from None
    except IsADirectoryError:
        raise DataError(f"{name}: is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise DataError(f"{name}: not UTF-8 text (save the file as UTF-8 CSV)") from None
    except OSError as e:
        raise DataError(f"{name}: cannot read the file ({e.strerror})") from None
    if not rows:
        raise DataError(f"{name}: the file is empty (a header row is needed)")
    header = [c.strip() for c in rows[0][1]]
    _check_header(name, header)
    data = rows[1:]
    if not data:
        raise DataError(f"{name}: no data rows after the header")
    for row, cells in data:
        if len(cells) != len(header):
            raise DataError(f"{name}: row {row}: {len(cells)} values, expected {len(header)} "
                            f"(one per column)")
    return header, data


def _check_header(name: str, header: list[str]) -> None:
    seen = set()
    for i, col in enumerate(header, start=1):
        if not col:
            raise DataError(f"{name}: column {i} of the header has no name")
        if col in seen:
            raise DataError(f"{name}: column '{col}' appears twice in the header")
        seen.add(col)


def _target_index(name: str, header: list[str], target: str) -> int:
    if target in header:
        return header.index(target)
    hint = ""
    # A file exported with ';' (usual where the decimal mark is a comma) reads as one column.
    if len(header) == 1 and ";" in header[0]:
        hint = " - the columns seem separated by ';', but a CSV file here uses ','"
    raise DataError(f"{name}: no column '{target}' (columns: {', '.join(header)}){hint}")


def _number(name: str, column: str, row: int, text: str) -> float:
    """One cell as a finite float, or a DataError naming file, column and row."""
    text = text.strip()
    where = f"{name}: column '{column}', row {row}"
    if not text:
        raise DataError(f"{where}: missing value")
    try:
        v = float(text)
    except ValueError:
        hint = " (use '.' as the decimal mark)" if _is_decimal_comma(text) else ""
        raise DataError(f"{where}: '{text}' is not a number{hint}") from None
    if not math.isfinite(v):
        raise DataError(f"{where}: '{text}' is not a finite number")
    return v


def _is_decimal_comma(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return text.count(",") == 1


def _as_number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _classes(name: str, target: str, cells: list[tuple[int, str]]):
    """Labels -> (int64 class indices, class names).

    All-numeric labels must be whole numbers and are ordered by value (so 10
    comes after 9); otherwise the labels are text, ordered alphabetically.
    """
    for row, c in cells:
        if not c:
            raise DataError(f"{name}: column '{target}', row {row}: missing value")
    numbers = [_as_number(c) for _, c in cells]
    if all(v is not None for v in numbers):
        for (row, c), v in zip(cells, numbers):
            if v != int(v):
                raise DataError(f"{name}: column '{target}', row {row}: '{c}' is not a whole "
                                f"number (class labels must be whole numbers or text)")
        labels = np.array([int(v) for v in numbers], dtype=np.int64)
    else:
        labels = np.array([c for _, c in cells])
    uniq, y = np.unique(labels, return_inverse=True)
    class_names = tuple(str(v) for v in uniq)
    if len(class_names) < 2:
        raise DataError(f"{name}: column '{target}' has only one class ('{class_names[0]}'); "
                        f"classification needs at least 2")
    return y.astype(np.int64).reshape(-1), class_names
