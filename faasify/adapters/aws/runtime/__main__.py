"""``python -m faasify.adapters.aws.runtime module:handler``: ``faasify runtime``, without
the rest of the command line's imports."""

from faasify.cli.runtime import main

raise SystemExit(main())
