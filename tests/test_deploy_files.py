"""The todolist's deploy files: valid for their tools, and naming code that exists.

A deploy file that names a handler the zip does not contain fails only at the
first request, on the platform. These tests catch that here: the SAM template
goes through ``cfn-lint`` (which runs the SAM transform), the other files are
read with PyYAML, and every handler, module and path they name is looked up in
the repository, down to the attribute the platform will call.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from faasify.package import build

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "examples" / "todolist" / "deploy"
TODOLIST = REPO / "examples" / "todolist"

needs_todolist = pytest.mark.skipif(
    not (TODOLIST / "flask_app.py").is_file(),
    reason="the todolist example (examples/todolist/flask_app.py) is not in this checkout",
)


class _CloudFormationLoader(yaml.SafeLoader):
    """PyYAML's safe loader that reads CloudFormation's short tags (``!Ref x``) as data."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_CloudFormationLoader.add_multi_constructor("!", _tag)


def _load(name: str) -> Any:
    with open(DEPLOY / name, encoding="utf-8") as file:
        return yaml.load(file, Loader=_CloudFormationLoader)


def _top_level_names(module: Path) -> set[str]:
    """Names a module binds at its top level (assignments, defs, classes, imports)."""
    names: set[str] = set()
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def _provides(module: Path, name: str) -> bool:
    """Whether ``module`` binds ``name`` at its top level, or answers it from a
    module-level ``__getattr__`` (the todolist builds ``app`` and ``handler`` on
    first access): then the module is imported for real, in a fresh interpreter
    with the in-memory stage, and the name looked up."""
    names = _top_level_names(module)
    if name in names:
        return True
    if "__getattr__" not in names:
        return False
    dotted = ".".join(module.resolve().relative_to(REPO).with_suffix("").parts)
    probe = (
        "import importlib, sys; "
        "module = importlib.import_module(sys.argv[1]); "
        "sys.exit(0 if getattr(module, sys.argv[2], None) is not None else 1)"
    )
    env = {**os.environ, "TODO_STAGE": "stateful", "TODO_SECRET": "deploy-files-test-secret"}
    done = subprocess.run(
        [sys.executable, "-c", probe, dotted, name], cwd=REPO, env=env, check=False, timeout=60
    )
    return done.returncode == 0


def _module_file(dotted: str) -> Path:
    return REPO.joinpath(*dotted.split(".")).with_suffix(".py")


def _assert_handler(spec: str, root: Path = REPO) -> None:
    """``module.attribute`` (Lambda's and FC's form) names a top-level callable that exists."""
    module, _, attribute = spec.rpartition(".")
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    assert path.is_file(), f"{spec}: no module {path}"
    assert _provides(path, attribute), f"{spec}: {path} defines no {attribute}"


def _imported_modules(module: Path) -> list[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return [node.module for node in tree.body if isinstance(node, ast.ImportFrom) and node.module]


def _assert_imports_exist(shim: Path) -> None:
    """Every ``from x import y`` of a shim names a module and attribute in the repository."""
    for module in _imported_modules(shim):
        if module == "__future__" or not module.startswith(("examples", "faasify")):
            continue
        path = _module_file(module)
        assert path.is_file(), f"{shim.name} imports {module}, which does not exist"
        tree = ast.parse(shim.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == module:
                for alias in node.names:
                    assert _provides(path, alias.name), (
                        f"{shim.name} imports {alias.name} from {module}, which has none"
                    )


def test_sam_template_passes_cfn_lint() -> None:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(DEPLOY / "template.yaml", config=ManualArgs(regions=["us-east-1"]))
    assert [str(match) for match in matches] == []


@needs_todolist
def test_sam_template_names_the_handlers_and_the_zip() -> None:
    template = _load("template.yaml")
    function = template["Resources"]["TodoFunction"]["Properties"]
    # Handler: !If [UseFastAPI, fastapi handler, flask handler]
    condition, fastapi, flask = function["Handler"]["If"]
    assert condition == "UseFastAPI"
    assert fastapi == "examples.todolist.fastapi_app.handler"
    assert flask == "examples.todolist.flask_app.handler"
    for handler in (fastapi, flask):
        _assert_handler(handler)
    assert (DEPLOY / function["CodeUri"]).resolve() == REPO / "dist" / "todolist-function.zip"
    assert function["Architectures"] == ["arm64"]
    assert function["Runtime"] == "python3.12"
    task = template["Resources"]["ServiceTask"]["Properties"]["ContainerDefinitions"][0]
    assert {secret["Name"] for secret in task["Secrets"]} == {"DATABASE_URL", "TODO_SECRET"}
    assert task["PortMappings"][0]["ContainerPort"] == 8001
    health = template["Resources"]["ServiceTargets"]["Properties"]["HealthCheckPath"]
    assert health == "/healthz"


@needs_todolist
def test_service_image_runs_the_service_app() -> None:
    dockerfile = (DEPLOY / "service.Dockerfile").read_text(encoding="utf-8")
    assert '"examples.todolist.service:app"' in dockerfile
    assert '"--port", "8001"' in dockerfile
    assert _provides(TODOLIST / "service.py", "app")
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"service.Dockerfile copies a missing {source}"


@needs_todolist
def test_serverless_yml() -> None:
    config = _load("serverless.yml")
    assert config["provider"]["name"] == "aws"
    assert config["provider"]["architecture"] == "arm64"
    artifact = (DEPLOY / config["package"]["artifact"]).resolve()
    assert artifact == REPO / "dist" / "todolist-function.zip"
    handlers = [function["handler"] for function in config["functions"].values()]
    assert handlers == ["examples.todolist.flask_app.handler"]
    for handler in handlers:
        _assert_handler(handler)
    assert config["functions"]["api"]["events"] == [{"httpApi": "*"}]
    assert set(config["provider"]["environment"]) == {
        "TODO_STAGE",
        "TODO_BAAS_URL",
        "DATABASE_URL",
        "TODO_SECRET",
    }


@needs_todolist
def test_aliyun_s_yaml() -> None:
    config = _load("s.yaml")
    assert config["edition"] == "3.0.0"
    props = config["resources"]["todolist"]["props"]
    assert config["resources"]["todolist"]["component"] == "fc3"
    assert props["runtime"].startswith("python3")
    assert (DEPLOY / props["code"]).resolve() == REPO / "dist" / "todolist-fc.zip"
    # index.handler: the shim that `faasify package` puts at the zip's root
    module, _, attribute = props["handler"].partition(".")
    shim = DEPLOY / "aliyun" / f"{module}.py"
    assert attribute in _top_level_names(shim)
    _assert_imports_exist(shim)
    assert "faasify.adapters.aliyun" in _imported_modules(shim)
    (trigger,) = props["triggers"]
    assert trigger["triggerType"] == "http"
    assert {"GET", "POST", "PATCH", "DELETE"} <= set(trigger["triggerConfig"]["methods"])


@needs_todolist
def test_openfaas_stack_yml() -> None:
    config = _load("stack.yml")
    assert config["provider"]["name"] == "openfaas"
    function = config["functions"]["todolist"]
    assert function["lang"] == "python3-http"
    folder = (DEPLOY / function["handler"]).resolve()
    # the template calls handler.handle(event, context) in the function's folder
    assert "handle" in _top_level_names(folder / "handler.py")
    _assert_imports_exist(folder / "handler.py")
    assert "faasify.adapters.openfaas" in _imported_modules(folder / "handler.py")
    assert (folder / "requirements.txt").is_file()


@needs_todolist
def test_packaged_shims_find_their_app(tmp_path: Path) -> None:
    """The sources-only zips of the FC and OpenFaaS guides hold what the shims import."""
    fc = build(
        ["examples.todolist", str(DEPLOY / "aliyun" / "index.py")],
        exclude=["examples/todolist/deploy"],
        output=tmp_path / "fc.zip",
    )
    openfaas = build(
        ["examples.todolist", "faasify"],
        exclude=["examples/todolist/deploy"],
        output=tmp_path / "openfaas.zip",
    )
    for package, shim in ((fc, "index.py"), (openfaas, "faasify/adapters/openfaas.py")):
        names = set(zipfile.ZipFile(package.path).namelist())
        assert shim in names
        assert {"examples/__init__.py", "examples/todolist/flask_app.py"} <= names
        assert "examples/todolist/static/index.html" in names
        assert not [name for name in names if name.startswith("examples/todolist/deploy/")]


# Runs in a fresh interpreter with only the unpacked zip and the standard library:
# log in, add a todo and list it, through the Lambda handler the deploy files name.
_INVOKE_TODOLIST = """\
import copy, json, sys
root, event_file, handler_path = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, root)
import importlib
module, _, attribute = handler_path.rpartition(".")
handler = getattr(importlib.import_module(module), attribute)
with open(event_file, encoding="utf-8") as file:
    base = json.load(file)

def call(method, path, body=None, token=None):
    event = copy.deepcopy(base)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"], event["queryStringParameters"] = "", {}
    event["requestContext"]["http"]["method"] = method
    event["headers"] = {"host": "example.com", "content-type": "application/json"}
    if token:
        event["headers"]["authorization"] = "Bearer " + token
    event["body"] = json.dumps(body) if body is not None else None
    event.pop("cookies", None)
    return handler(event, None)

login = call("POST", "/api/login", {"username": "alice"})
token = json.loads(login["body"])["token"]
created = call("POST", "/api/todos", {"text": "from the zip"}, token)
listed = call("GET", "/api/todos", None, token)
page = call("GET", "/")
print(json.dumps({"login": login["statusCode"], "created": created["statusCode"],
                  "listed": json.loads(listed["body"]), "page": page["statusCode"],
                  "modules": sorted(sys.modules)}))
"""


@needs_todolist
@pytest.mark.network
def test_function_zip_serves_the_todolist(tmp_path: Path) -> None:
    """The zip the SAM and Serverless guides build answers through the handler they name."""
    import json
    import os
    import subprocess
    import sys

    from tests.test_package import EVENT, PYTHON, _pypi_reachable

    if not _pypi_reachable():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("PyPI (pypi.org:443) is not reachable, and CI must not skip this test")
        pytest.skip("PyPI (pypi.org:443) is not reachable")
    package = build(
        ["examples.todolist"],
        requirements=[DEPLOY / "requirements-function.txt"],
        with_=[str(REPO), "flask>=3"],
        exclude=["examples/todolist/deploy"],
        arch="x86_64",
        python=PYTHON,
        output=tmp_path / "todolist-function.zip",
    )
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(package.path) as archive:
        archive.extractall(unpacked)
    run = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            _INVOKE_TODOLIST,
            str(unpacked),
            str(EVENT),
            "examples.todolist.flask_app.handler",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "TODO_STAGE": "stateful", "TODO_SECRET": "s"},
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["login"] == 200
    assert report["created"] == 201
    assert [item["text"] for item in report["listed"]["items"]] == ["from the zip"]
    assert report["page"] == 200
    assert "flask" in report["modules"]
