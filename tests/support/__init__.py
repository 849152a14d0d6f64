"""What the tests import or run that is not a test: apps, servers, helper processes.

Kept apart from the test modules so that a folder of tests holds tests only; the
sub-packages follow the test folders that use them (``baas``, ``docs``, ``local``,
``pools``, ``runtime`` for ``faasify runtime``, ``websocket``).
"""
