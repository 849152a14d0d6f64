"""The todolist on OpenFaaS (template ``python3-http``): ``handle(event, context)``.

The template imports this module once per replica as ``function.handler``, so
the Flask app and its store are built once. Before that, two things the app
expects are put in place:

* ``faasify`` and ``examples.todolist`` are unpacked next to this file (by
  ``faasify package``; see docs/deploy/openfaas.md), so this folder goes on
  ``sys.path``;
* OpenFaaS hands secrets over as files under ``/var/openfaas/secrets``; the
  app reads ``TODO_SECRET`` and ``DATABASE_URL`` from the environment, so each
  secret file present becomes its variable.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECRETS = Path(os.environ.get("OPENFAAS_SECRETS_DIR", "/var/openfaas/secrets"))
#: OpenFaaS secret name -> the environment variable the app reads.
SECRET_VARIABLES = {"todolist-secret": "TODO_SECRET", "todolist-database-url": "DATABASE_URL"}

if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
for secret, variable in SECRET_VARIABLES.items():
    if (SECRETS / secret).is_file() and variable not in os.environ:
        os.environ[variable] = (SECRETS / secret).read_text(encoding="utf-8").strip()

from examples.todolist.flask_app import app  # noqa: E402
from faasify.adapters.openfaas import http_handler  # noqa: E402

__all__ = ["handle"]

# The gateway serves the function at /function/todolist/ and strips that prefix;
# base_path gives it back to the app as its root path.
handle = http_handler(app, base_path="/function/todolist")
