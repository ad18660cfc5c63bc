"""Build hook: generate the mash.v1 gRPC stubs from proto/ before packaging.

Generated code is never committed; `pip install .` and `make install` both run this.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def generate_stubs() -> None:
    """Run protoc (from grpcio-tools) with mypy-protobuf over proto/mash/v1/*.proto."""
    from grpc_tools import protoc  # build requirement

    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto/mash/v1").glob("*.proto"))
    include = str(Path(protoc.__file__).parent / "_proto")
    plugins = []
    for plugin in ("protoc-gen-mypy", "protoc-gen-mypy_grpc"):
        # next to this interpreter (a venv's bin/) or, in an isolated build, on PATH
        path = Path(sys.executable).parent / plugin
        found = str(path) if path.exists() else shutil.which(plugin)
        if found is None:
            sys.exit(f"{plugin} not found: install mypy-protobuf")
        plugins.append(f"--plugin={plugin}={found}")
    args = [
        "protoc",
        *plugins,
        f"-I{ROOT / 'proto'}",
        f"-I{include}",
        f"--python_out={ROOT}",
        f"--grpc_python_out={ROOT}",
        f"--mypy_out={ROOT}",
        f"--mypy_grpc_out={ROOT}",
        *protos,
    ]
    if protoc.main(args) != 0:
        sys.exit("protoc failed to generate the mash.v1 stubs")
    (ROOT / "mash/v1/__init__.py").touch()
    (ROOT / "mash/v1/py.typed").touch()


class BuildWithStubs(build_py):
    """build_py that generates the gRPC stubs first."""

    def run(self) -> None:
        generate_stubs()
        super().run()


if __name__ == "__main__":  # setuptools.build_meta runs this file as __main__
    # Generate before setup() so package discovery sees mash.v1 in a fresh checkout.
    generate_stubs()
    setup(cmdclass={"build_py": BuildWithStubs})
