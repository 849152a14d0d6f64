"""A recording Runtime API, and ``faasify runtime`` running against it in a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.runtime.recorder import RecordingRuntimeAPI

ROOT = Path(__file__).resolve().parents[4]
APPS = "tests.support.runtime.apps"


class Runtime:
    """One ``faasify runtime`` process and the Runtime API it talks to."""

    def __init__(self, api: RecordingRuntimeAPI, process: subprocess.Popen[str]) -> None:
        self.api = api
        self.process = process

    def finish(self, timeout: float = 60.0) -> tuple[int, str, str]:
        """Stop the runtime (a 500 to its next ``next``); its status, stdout and stderr."""
        self.api.stop()
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err


@pytest.fixture
def runtime() -> Iterator[Callable[..., Runtime]]:
    """``runtime(target, *args, **env)`` starts ``faasify runtime target *args``."""
    started: list[Runtime] = []

    def start(target: str, *args: str, **env: str) -> Runtime:
        api = RecordingRuntimeAPI()
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FAASIFY_", "AWS_LAMBDA_", "_X_AMZN"))
        }
        environment = {
            **inherited,
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_LAMBDA_FUNCTION_NAME": "runtime-test",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "faasify.cli", "runtime", target, *args],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        runtime = Runtime(api, process)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        if runtime.process.poll() is None:
            runtime.process.kill()
            runtime.process.communicate(timeout=30)
        runtime.api.close()
