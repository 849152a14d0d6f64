"""``faasify package``: the zip a Lambda function is deployed from.

The offline tests build zips of sources only (no pip). The ``network`` tests
install real wheels from PyPI for the target platform, unpack the zip into an
empty directory and call the handler from there in a fresh ``python -I -S``,
with nothing but that directory and the standard library on ``sys.path``: what
Lambda's runtime does with the zip, short of the machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from faasify.cli import main
from faasify.package import (
    UNZIPPED_LIMIT,
    ZIPPED_LIMIT,
    PackageError,
    SizeLimitError,
    build,
    parse_size,
    platform_tags,
)
from faasify.package._dependencies import local_requirement

REPO = Path(__file__).resolve().parent.parent
EVENT = REPO / "tests" / "events" / "http-api-v2.json"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
CP = f"cpython-{sys.version_info.major}{sys.version_info.minor}"

APP = '''\
"""A function with a compiled dependency (markupsafe) and an ASGI app."""

import markupsafe
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

import faasify


async def hello(request):
    return JSONResponse(
        {
            "hello": request.path_params["name"],
            "tags": request.query_params.getlist("tag"),
            "cookies": dict(request.cookies),
            "escaped": str(markupsafe.escape("<b>")),
        }
    )


app = Starlette(routes=[Route("/hello/{name}", hello)])
handler = faasify.handler(app)
'''

# Runs in the fresh interpreter: import the handler from the unpacked zip, call
# it with the event, and report which modules came from anywhere else.
INVOKE = """\
import json, sys
root, event_file = sys.argv[1], sys.argv[2]
stdlib = [entry for entry in sys.path if entry]
sys.path.insert(0, root)
import fn_app
with open(event_file, encoding="utf-8") as file:
    result = fn_app.handler(json.load(file), None)
outside = sorted(
    name
    for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not module.__file__.startswith(root)
    and not any(module.__file__.startswith(entry) for entry in stdlib)
)
import markupsafe._speedups as speedups
print(json.dumps({"result": result, "outside": outside, "speedups": speedups.__file__}))
"""


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def pypi() -> None:
    """PyPI must answer for the network tests; under CI its absence fails them."""
    if _pypi_reachable():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("PyPI (pypi.org:443) is not reachable, and CI must not skip these tests")
    pytest.skip("PyPI (pypi.org:443) is not reachable")


def _names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def _function_source(root: Path) -> Path:
    """A function folder as a developer has it: code, tests, caches, a virtualenv."""
    src = root / "src"
    (src / "tests").mkdir(parents=True)
    (src / "__pycache__").mkdir()
    (src / ".venv" / "lib").mkdir(parents=True)
    (src / "fn_app.py").write_text(APP, encoding="utf-8")
    (src / "helpers.py").write_text("VALUE = 1\n", encoding="utf-8")
    (src / "tests" / "test_fn.py").write_text("def test(): pass\n", encoding="utf-8")
    (src / "__pycache__" / "fn_app.cpython-311.pyc").write_bytes(b"\x00" * 16)
    (src / "stray.pyc").write_bytes(b"\x00" * 16)
    (src / ".venv" / "lib" / "big.py").write_text("x = 1\n", encoding="utf-8")
    (src / "README.md").write_text("# fn\n", encoding="utf-8")
    return src


# -- offline: sources only ------------------------------------------------------------


def test_sources_land_where_python_imports_them(tmp_path: Path) -> None:
    src = _function_source(tmp_path)
    out = tmp_path / "dist" / "fn.zip"
    package = build([str(src), str(REPO / "examples" / "hello" / "app.py")], output=out)
    names = _names(out)
    assert names == sorted(names)
    # a plain folder gives its contents to the root; a module inside a package
    # keeps its import path, with its parents' __init__.py
    assert set(names) == {
        "README.md",
        "fn_app.py",
        "helpers.py",
        "examples/__init__.py",
        "examples/hello/__init__.py",
        "examples/hello/app.py",
    }
    assert package.files == 6
    assert package.excluded_files == 4  # tests/, __pycache__/, stray.pyc, .venv/
    assert package.unzipped_size == sum(info.file_size for info in zipfile.ZipFile(out).infolist())
    assert package.zipped_size == out.stat().st_size


def test_dotted_name_source_and_package_directory(tmp_path: Path) -> None:
    by_name = build(["examples.hello"], output=tmp_path / "a.zip")
    by_path = build([str(REPO / "examples" / "hello")], output=tmp_path / "b.zip")
    expected = ["examples/__init__.py", "examples/hello/__init__.py", "examples/hello/app.py"]
    assert _names(by_name.path) == expected
    assert _names(by_path.path) == expected
    assert by_name.path.read_bytes() == by_path.path.read_bytes()


def test_zip_is_reproducible(tmp_path: Path) -> None:
    src = _function_source(tmp_path)
    (src / "run.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    (src / "run.sh").chmod(0o700)
    (src / "helpers.py").chmod(0o600)
    first = build([str(src)], output=tmp_path / "one.zip")
    os.utime(src / "fn_app.py", (1_900_000_000, 1_900_000_000))
    second = build([str(src)], output=tmp_path / "two.zip")
    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
    assert {info.date_time for info in infos.values()} == {(1980, 1, 1, 0, 0, 0)}
    # world-readable for Lambda's runtime user; the executable bit survives
    assert infos["helpers.py"].external_attr >> 16 & 0o777 == 0o644
    assert infos["run.sh"].external_attr >> 16 & 0o777 == 0o755


def test_exclude_patterns(tmp_path: Path) -> None:
    src = _function_source(tmp_path)
    out = tmp_path / "fn.zip"
    assert main(["package", str(src), "examples.hello", "-o", str(out), "--exclude", "*.md"]) == 0
    assert "README.md" not in _names(out)
    main(["package", str(src), "examples.hello", "-o", str(out), "--exclude", "examples/hello"])
    assert not [name for name in _names(out) if name.startswith("examples/hello/")]
    assert "examples/__init__.py" in _names(out)
    main(["package", str(src), "-o", str(out), "--no-default-excludes"])
    assert {"tests/test_fn.py", "stray.pyc", ".venv/lib/big.py"} <= set(_names(out))


def test_summary_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fn.zip"
    assert main(["package", "examples.hello", "-o", str(out), "--arch", "arm64"]) == 0
    printed = capsys.readouterr().out
    assert f"{out}: " in printed
    assert "zipped," in printed
    assert "unzipped" in printed
    assert f"3 files (Lambda arm64, Python {PYTHON})" in printed
    assert "limits: 50.0 MB zipped (direct upload), 250.0 MB unzipped" in printed


def test_refuses_a_zip_over_the_unzipped_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "fn.py").write_bytes(b"x = 1\n" * 1000)
    out = tmp_path / "dist" / "fn.zip"
    code = main(["package", str(src), "-o", str(out), "--max-unzipped", "4KB"])
    assert code == 1
    error = capsys.readouterr().err
    assert "refusing to build" in error
    assert "5.9 KB unzipped is over the limit of 4.0 KB" in error
    assert "Largest: fn 5.9 KB" in error
    assert not out.exists()
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_refuses_a_zip_over_the_zipped_limit(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.bin").write_bytes(os.urandom(8192))  # does not compress
    out = tmp_path / "fn.zip"
    with pytest.raises(SizeLimitError, match=r"zipped is over the limit of 4\.0 KB"):
        build([str(src)], output=out, max_zipped=4096)
    assert not out.exists()
    assert list(tmp_path.glob("*.partial")) == []
    # the same build with Lambda's own limits goes through
    assert build([str(src)], output=out).zipped_size > 8192


def test_a_wheel_for_another_platform_is_refused(tmp_path: Path) -> None:
    """A compiled wheel built for this machine is not installed for Lambda."""
    wheel = tmp_path / "native-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("native/__init__.py", "")
        archive.writestr(
            "native-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: native\nVersion: 1.0\n"
        )
        archive.writestr(
            "native-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n",
        )
        archive.writestr("native-1.0.dist-info/RECORD", "")
    with pytest.raises(PackageError, match="pip could not install the dependencies as wheels"):
        build(with_=[str(wheel)], output=tmp_path / "fn.zip", python="3.11", arch="x86_64")
    assert not (tmp_path / "fn.zip").exists()


def test_colliding_sources_are_refused(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "app.py").write_text("A = 1\n", encoding="utf-8")
    (two / "app.py").write_text("A = 2\n", encoding="utf-8")
    with pytest.raises(PackageError, match=r"app\.py comes from both"):
        build([str(one), str(two)], output=tmp_path / "fn.zip")


def test_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "fn.zip")
    assert main(["package", "examples.hello", "-o", out, "--python", "three"]) == 1
    assert "--python must be a version such as 3.11" in capsys.readouterr().err
    assert main(["package", "no.such.module_here", "-o", out]) == 1
    assert "cannot be imported" in capsys.readouterr().err
    assert main(["package", "-o", out]) == 1
    assert "nothing to package" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["package", "examples.hello", "--max-zipped", "lots"])


def test_env_files_stay_out(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "conf").mkdir(parents=True)
    (src / "fn.py").write_text("x = 1\n", encoding="utf-8")
    (src / ".env").write_text("DB_PASSWORD=hunter2\n", encoding="utf-8")
    (src / ".env.production").write_text("API_KEY=k\n", encoding="utf-8")
    (src / "conf" / ".env").write_text("TOKEN=t\n", encoding="utf-8")
    (src / "environment.py").write_text("y = 2\n", encoding="utf-8")
    package = build([str(src)], output=tmp_path / "fn.zip")
    assert _names(package.path) == ["environment.py", "fn.py"]
    assert package.excluded_files == 3
    kept = build([str(src)], output=tmp_path / "all.zip", default_excludes=False)
    assert {".env", ".env.production", "conf/.env"} <= set(_names(kept.path))


def test_the_output_directory_inside_a_source_stays_out(tmp_path: Path) -> None:
    """``faasify package . -o dist/fn.zip``: neither older zips nor half-written ones ship."""
    src = tmp_path / "src"
    (src / "dist").mkdir(parents=True)
    (src / "fn.py").write_text("x = 1\n", encoding="utf-8")
    (src / "dist" / "old.zip").write_bytes(b"PK old build")
    (src / "dist" / ".old.zip.partial").write_bytes(b"PK interrupted")
    out = src / "dist" / "fn.zip"
    first = build([str(src)], output=out)
    assert _names(out) == ["fn.py"]
    assert first.excluded_files == 0  # left out as the output, not by a pattern
    again = out.read_bytes()
    build([str(src)], output=out)
    assert out.read_bytes() == again  # the previous zip did not go into the next one

    # the output directly in the source: the zip and partial files beside it stay out,
    # and dist/ is an ordinary folder of the source then
    (src / ".other.zip.partial").write_bytes(b"PK interrupted")
    build([str(src)], output=src / "fn.zip")
    build([str(src)], output=src / "fn.zip")
    assert _names(src / "fn.zip") == [
        "dist/.old.zip.partial",
        "dist/fn.zip",
        "dist/old.zip",
        "fn.py",
    ]


def test_an_output_directory_holding_the_sources_code_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "app" / "__init__.py").write_text("", encoding="utf-8")
    (src / "app" / "views.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(PackageError, match=r"holds its code \(__init__\.py, views\.py\)"):
        build([str(src)], output=src / "app" / "fn.zip")


def test_symbolic_links_inside_the_source_are_followed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "vendor" / "lib").mkdir(parents=True)
    (src / "vendor" / "lib" / "util.py").write_text("U = 1\n", encoding="utf-8")
    (src / "fn.py").write_text("x = 1\n", encoding="utf-8")
    (src / "lib").symlink_to(src / "vendor" / "lib", target_is_directory=True)
    (src / "settings.py").symlink_to("fn.py")
    # an excluded directory is not entered, so its links outside are not looked at
    (src / ".venv" / "bin").mkdir(parents=True)
    (src / ".venv" / "bin" / "python").symlink_to(sys.executable)
    package = build([str(src)], output=tmp_path / "fn.zip")
    assert _names(package.path) == ["fn.py", "lib/util.py", "settings.py", "vendor/lib/util.py"]
    with zipfile.ZipFile(package.path) as archive:
        assert archive.read("lib/util.py") == b"U = 1\n"
        assert archive.read("settings.py") == b"x = 1\n"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda src, out: (src / "host.txt").symlink_to("/etc/hostname"), "outside the source"),
        (
            lambda src, out: (src / "lib").symlink_to(out, target_is_directory=True),
            "outside the source",
        ),
        (lambda src, out: (src / "gone.py").symlink_to(src / "nowhere.py"), "broken symbolic"),
        (
            lambda src, out: (src / "pkg" / "up").symlink_to(src, target_is_directory=True),
            "links back to",
        ),
    ],
    ids=["file-outside", "directory-outside", "broken", "loop"],
)
def test_symbolic_links_leaving_the_source_are_refused(
    tmp_path: Path, make: Any, message: str
) -> None:
    src, outside = tmp_path / "src", tmp_path / "outside"
    (src / "pkg").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.py").write_text("KEY = 'k'\n", encoding="utf-8")
    (src / "fn.py").write_text("x = 1\n", encoding="utf-8")
    make(src, outside)
    out = tmp_path / "fn.zip"
    with pytest.raises(PackageError, match=message):
        build([str(src)], output=out)
    assert not out.exists()


def test_an_unreadable_directory_fails_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory that cannot be listed stops the build instead of being left out.

    The listing fails through os.scandir, which os.walk calls: file permissions
    do not stop root (who runs CI), so the refusal is made there.
    """
    src = tmp_path / "src"
    (src / "locked").mkdir(parents=True)
    (src / "locked" / "data.py").write_text("D = 1\n", encoding="utf-8")
    (src / "fn.py").write_text("x = 1\n", encoding="utf-8")
    real_scandir = os.scandir
    locked = os.fspath(src / "locked")

    def scandir(path: Any = ".") -> Any:
        if not isinstance(path, int) and os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    out = tmp_path / "fn.zip"
    assert main(["package", str(src), "-o", str(out)]) == 1
    error = capsys.readouterr().err
    assert error == (
        f"faasify package: cannot read the directory {locked} (from {src}): Permission denied\n"
    )
    assert not out.exists()


def test_a_file_that_cannot_be_written_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "dist"
    blocker.write_text("a file where the output's directory should be", encoding="utf-8")
    out = blocker / "fn.zip"
    assert main(["package", "examples.hello", "-o", str(out)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("faasify package: ")
    assert error.count("\n") == 1
    assert str(blocker) in error
    assert "Traceback" not in error


@pytest.mark.parametrize(
    ("spec", "local"),
    [
        (".", True),
        (".[baas]", True),
        ("./libs/shared", True),
        ("~/src/pkg", True),
        ("/abs/path/project[extra]", True),
        ("dist/pkg-1.0-py3-none-any.whl", True),
        ("starlette>=0.37", False),
        ("pkg[extra]==1.0", False),
        ("pkg @ git+https://github.com/org/pkg@v1.0", False),
        ("pkg[extra] @ https://example.com/pkg-1.0.tar.gz", False),
        ("pkg@https://example.com/pkg-1.0-py3-none-any.whl", False),
        ("https://example.com/pkg-1.0.tar.gz", False),
        ("git+ssh://git@github.com/org/pkg.git", False),
        ("pkg @ file:///srv/wheels/pkg-1.0-py3-none-any.whl", False),
    ],
)
def test_with_specs_that_are_local_paths(spec: str, local: bool) -> None:
    """Only a path is made absolute for pip; URLs and direct references go as written."""
    assert local_requirement(spec) is local


def test_sizes_and_platform_tags() -> None:
    assert parse_size("50MB") == ZIPPED_LIMIT == 52_428_800
    assert parse_size("250 MiB") == UNZIPPED_LIMIT == 262_144_000
    assert parse_size("900k") == 921_600
    assert parse_size("1048576") == 1_048_576
    with pytest.raises(ValueError, match="not a size"):
        parse_size("big")
    # Amazon Linux 2 (glibc 2.26) up to python3.11, Amazon Linux 2023 (2.34) after
    assert platform_tags("arm64", "3.11")[0] == "manylinux_2_26_aarch64"
    assert "manylinux2014_aarch64" in platform_tags("arm64", "3.11")
    assert platform_tags("x86_64", "3.12")[0] == "manylinux_2_34_x86_64"
    assert "manylinux1_x86_64" in platform_tags("x86_64", "3.12")
    assert not [tag for tag in platform_tags("arm64", "3.13") if "x86_64" in tag]


# -- network: real wheels from PyPI ---------------------------------------------------


@pytest.mark.network
@pytest.mark.usefixtures("pypi")
def test_zip_runs_the_handler_from_a_clean_directory(tmp_path: Path) -> None:
    """faasify from this checkout, starlette, a compiled wheel, and the AWS SDK's jmespath."""
    src = _function_source(tmp_path)
    out = tmp_path / "dist" / "function.zip"
    package = build(
        [str(src)],
        with_=[f"{REPO}[asgi]", "markupsafe", "jmespath"],
        arch="x86_64",
        python=PYTHON,
        output=out,
    )
    names = _names(out)
    tops = {name.split("/", 1)[0] for name in names}
    assert {"faasify", "starlette", "anyio", "markupsafe", "fn_app.py"} <= tops
    # what Lambda provides, what nobody needs at run time
    assert package.aws_sdk_left_out == ["jmespath"]
    assert not [name for name in names if name.startswith(("jmespath", "bin/"))]
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in names if name.startswith(("tests/", ".venv/"))]
    assert not [name for name in names if name.endswith(("dist-info/RECORD", "INSTALLER"))]
    assert [name for name in names if name.endswith("dist-info/METADATA")]
    assert [name for name in names if name.endswith(f"{CP}-x86_64-linux-gnu.so")]

    unpacked = tmp_path / "task"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(unpacked)
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-c", INVOKE, str(unpacked), str(EVENT)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    result = report["result"]
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {
        "hello": "world",
        "tags": ["a", "b"],
        "cookies": {"session_id": "s3ss10n-7f2c9e", "theme": "dark"},
        "escaped": "&lt;b&gt;",
    }
    assert report["outside"] == []  # nothing was imported from site-packages
    assert report["speedups"].startswith(str(unpacked))


@pytest.mark.network
@pytest.mark.usefixtures("pypi")
def test_arm64_gets_aarch64_wheels(tmp_path: Path) -> None:
    out = tmp_path / "function.zip"
    package = build(with_=["markupsafe"], arch="arm64", python="3.12", output=out)
    compiled = [name for name in _names(out) if name.endswith(".so")]
    assert compiled
    assert all(name.endswith("cpython-312-aarch64-linux-gnu.so") for name in compiled)
    assert package.summary().splitlines()[0].endswith("(Lambda arm64, Python 3.12)")


def test_the_command_line_half_moved_to_the_cli_with_a_warning_at_the_old_name() -> None:
    import faasify.package
    from faasify.cli import package as command

    for name in ("add_arguments", "run"):
        with pytest.warns(DeprecationWarning, match=f"faasify.cli.package.{name}"):
            moved = getattr(faasify.package, name)
        assert moved is getattr(command, name)
    with pytest.raises(AttributeError):
        faasify.package.no_such_name  # noqa: B018
