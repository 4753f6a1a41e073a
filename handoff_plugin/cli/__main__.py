"""`python -m handoff_plugin.cli ...` runs the `handoff` command."""

from handoff_plugin.cli import main

raise SystemExit(main())
