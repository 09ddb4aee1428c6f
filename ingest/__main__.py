"""``python -m ingest COMMAND``: see ``python -m ingest --help``."""

import sys

from ingest.cli import main

sys.exit(main())
