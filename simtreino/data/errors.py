"""The one error type of the data package.

It lives in its own module because the CSV reader, the splitter and the
dataset builder all raise it, and ``dataset.py`` imports the other two.
"""


class DataError(ValueError):
    """A problem with a data source, told in one line that names the source."""
