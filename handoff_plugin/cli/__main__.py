"""`python -m handoff_plugin.cli` runs the `handoff` command (the CLI tests use it)."""

import sys

from handoff_plugin.cli import main

sys.exit(main())
