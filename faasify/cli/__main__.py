"""``python -m faasify.cli``: the ``faasify`` command."""

from faasify.cli import main

raise SystemExit(main())
