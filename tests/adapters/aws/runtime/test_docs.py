"""What docs/streaming.md, docs/snapstart.md and docs/managed-instances.md show runs and
does what they say: their Python under ``faasify runtime``, their wrapper script, their
templates through cfn-lint."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from faasify.adapters.aws.events import build_event
from tests.adapters.aws.runtime.conftest import ROOT

DOCS = ROOT / "docs"


def blocks(page: str, language: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(rf"```{language}[^\n]*\n(.*?)```", text, re.S)


def module(tmp_path: Path, code: str, name: str = "docapp") -> str:
    (tmp_path / f"{name}.py").write_text(code, encoding="utf-8")
    return name


def split(data: bytes) -> tuple[dict[str, Any], bytes]:
    head, _, body = data.partition(b"\0" * 8)
    prelude: dict[str, Any] = json.loads(head)
    return prelude, body


def test_the_streaming_page_streams_and_works_after_the_answer(
    runtime: Any, tmp_path: Path
) -> None:
    (code,) = blocks("streaming.md", "python")
    name = module(tmp_path, code)
    run = runtime(
        f"{name}:lambda_handler",
        "--invoke-mode",
        "response-stream",
        PYTHONPATH=f"{tmp_path}:{ROOT}",
    )
    events = run.api.invoke(build_event("function-url", "GET", "/events"))
    post = run.api.answer(events)
    assert post.chunks is not None
    prelude, first = split(post.chunks[0].data)
    assert prelude["headers"]["content-type"] == "text/event-stream; charset=utf-8"
    assert [first] + [c.data for c in post.chunks[1:]] == [
        b"data: tick 0\n\n",
        b"data: tick 1\n\n",
        b"data: tick 2\n\n",
    ]
    signup = run.api.invoke(build_event("function-url", "POST", "/signup"))
    prelude, body = split(run.api.answer(signup).data)
    assert json.loads(body) == {"ok": True}
    _, out, _ = run.finish()
    assert out.splitlines().count("welcome mail sent") == 1


def test_the_wrapper_script_runs_the_loop_and_packages_executable(tmp_path: Path) -> None:
    (script,) = blocks("streaming.md", "sh")
    assert script == '#!/bin/sh\nexec python3 -m faasify.cli runtime "$_HANDLER"\n'
    (tmp_path / "app.py").write_text("def lambda_handler(e, c):\n    return {}\n")
    bootstrap = tmp_path / "bootstrap"
    bootstrap.write_text(script, encoding="utf-8")
    bootstrap.chmod(0o755)
    completed = subprocess.run(
        [sys.executable, "-m", "faasify.cli", "package", "app.py", "bootstrap", "-o", "out.zip"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert modes["bootstrap"] & 0o111 == 0o111


_ROLE = """\
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
"""


def _template(snippet: str) -> str:
    """A whole template around a snippet's resources, with what they refer to."""
    head = 'AWSTemplateFormatVersion: "2010-09-09"\n'
    if "AWS::Serverless::" in snippet:
        head += "Transform: AWS::Serverless-2016-10-31\n"
    if "Ref: CapacityProviderArn" in snippet:
        head += "Parameters:\n  CapacityProviderArn:\n    Type: String\n"
    resources = snippet.split("Resources:\n", 1)[1]
    return head + "Resources:\n" + (_ROLE if "AppRole" in snippet else "") + resources


@pytest.mark.parametrize(
    ("page", "index"),
    [
        ("streaming.md", 0),
        ("snapstart.md", 0),
        ("managed-instances.md", 0),
        ("managed-instances.md", 2),
    ],
)
def test_the_cloudformation_snippets_pass_cfn_lint(page: str, index: int, tmp_path: Path) -> None:
    from cfnlint.api import ManualArgs, lint_file

    snippet = blocks(page, "yaml")[index]
    assert snippet.startswith("Resources:\n")
    path = tmp_path / "template.yaml"
    path.write_text(_template(snippet), encoding="utf-8")
    matches = lint_file(path, config=ManualArgs(regions=["us-east-1"]))
    assert [str(match) for match in matches] == []


@pytest.mark.parametrize(("page", "index"), [("streaming.md", 1), ("snapstart.md", 1)])
def test_the_serverless_snippets_name_the_function(page: str, index: int) -> None:
    config = yaml.safe_load(blocks(page, "yaml")[index])
    function = config["functions"]["app"]
    assert function["handler"] == "app.lambda_handler"
    assert function["runtime"] == "python3.12"


@pytest.mark.postgres
def test_the_snapstart_page_restores_its_pool(runtime: Any, tmp_path: Path, pg_url: str) -> None:
    (code,) = blocks("snapstart.md", "python")
    name = module(tmp_path, code)
    run = runtime(
        f"{name}:lambda_handler",
        PYTHONPATH=f"{tmp_path}:{ROOT}",
        DATABASE_URL=pg_url,
        API_TOKEN="t-1",
        AWS_LAMBDA_INITIALIZATION_TYPE="snap-start",
    )
    ping = run.api.invoke(build_event("http-api-v2", "GET", "/ping"))
    answer = json.loads(run.api.answer(ping).body)
    assert json.loads(answer["body"]) == {"db": 1}
    paths = [r.path.rsplit("/runtime", 1)[1] for r in run.api.requests]
    assert paths[:2] == ["/restore/next", "/invocation/next"]
    run.finish()


def test_the_managed_instances_page_sizes_its_pool_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = blocks("managed-instances.md", "python")[0]
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("AWS_LAMBDA_MAX_CONCURRENCY", "16")
    namespace: dict[str, Any] = {"__name__": "docs_managed"}
    exec(compile(code, "managed-instances.md", "exec"), namespace)
    assert namespace["PROCESSES"] == 16
    namespace["lambda_handler"].close()


def test_the_tenant_isolation_snippet_gets_the_tenant(runtime: Any, tmp_path: Path) -> None:
    code = blocks("managed-instances.md", "python")[1]
    name = module(tmp_path, code)
    run = runtime(f"{name}:lambda_handler", PYTHONPATH=f"{tmp_path}:{ROOT}")
    blue = run.api.invoke(build_event("rest-v1", "GET", "/whoami"), tenant_id="blue")
    answer = json.loads(run.api.answer(blue).body)
    body = answer["body"]
    if answer.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    assert json.loads(body) == {"tenant": "blue"}
    run.finish()
