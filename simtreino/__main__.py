"""``python -m simtreino`` is the ``simtreino`` command."""

import sys

from simtreino.cli import main

if __name__ == "__main__":
    sys.exit(main())
