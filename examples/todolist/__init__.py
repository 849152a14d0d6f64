"""The todolist example: one API, two frameworks, three stages.

* :mod:`examples.todolist.flask_app` and :mod:`examples.todolist.fastapi_app` serve
  the same API and page, through ``faasify.handler``.
* ``TODO_STAGE`` picks where the todos live: ``stateful`` (the instance's memory),
  ``pooled`` (the database, through faasify's pools) or ``baas`` (the todo data
  service, :mod:`examples.todolist.service`, through ``faasify.baas.Client``).
* ``python -m examples.todolist`` runs the whole example on one machine.
"""
