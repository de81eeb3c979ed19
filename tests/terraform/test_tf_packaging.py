"""The Python-shell jobs get the shared package as a wheel (Python 3.9 shell jobs
install only wheels). Build one laid out as the dataset-export module packs it and
prove the Glue Python-shell runtime's Python (3.9) installs it and imports the package."""
from __future__ import annotations

import re
import subprocess
import zipfile

import pytest

from tools import tfmodel
from tools.tfmodel import REPO_ROOT

PYTHON39 = REPO_ROOT / ".venv39" / "bin" / "python"


def _evaluate(text: str, values: dict[str, str]) -> str:
    """A quoted HCL string with ${local.x}/${var.x} interpolations and \\n escapes."""
    text = tfmodel.unquote(text) if not text.startswith('"') else text[1:-1]
    text = re.sub(r"\$\{((?:local|var)\.\w+)\}", lambda m: values[m.group(1)], text)
    return text.replace("\\n", "\n")


def test_wheel_packed_like_the_module_installs_and_imports_on_python39(tmp_path):
    if not PYTHON39.exists():
        pytest.fail(f"{PYTHON39} is missing: run `make deps` (creates .venv39 with Python 3.9)")
    module = tfmodel.load_module(REPO_ROOT / "modules" / "dataset-export")
    locals_ = module.locals
    assert "fileset(local.package_dir, \"**/*.py\")" in locals_["package_files"]
    values = {"local.package_version": tfmodel.unquote(locals_["package_version"]), "var.name": "test"}
    values["local.dist_info"] = _evaluate(locals_["dist_info"], values)
    wheel_name = _evaluate(locals_["wheel_name"], values)
    assert re.fullmatch(r"personalize_export-[0-9.]+-py3-none-any\.whl", wheel_name)

    assert "fileset(local.spec_package_dir, \"**/*.py\")" in locals_["spec_package_files"]
    files = []  # (path in the wheel, source file) of the two packages the module packs
    for package in ("personalize_export", "export_spec"):
        package_dir = REPO_ROOT / "glue" / package
        files += [(f"{package}/{p.relative_to(package_dir).as_posix()}", p)
                  for p in sorted(package_dir.rglob("*.py")) if "__pycache__" not in p.parts]
    wheel = tmp_path / wheel_name
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, source in files:
            archive.write(source, name)
        for key, content in locals_["wheel_metadata"].items():
            path = _evaluate(key, values)
            if path.endswith("/RECORD"):
                # The module builds RECORD with a for expression: every file, no hashes.
                assert "local.package_files" in content and "local.spec_package_files" in content
                content = "".join(f"{name},,\n" for name, _ in files)
                content += "".join(f"{values['local.dist_info']}/{n},,\n" for n in ("METADATA", "WHEEL", "RECORD"))
            else:
                content = _evaluate(content, values)
            archive.writestr(path, content)

    target = tmp_path / "site"
    install = subprocess.run([str(PYTHON39), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                              "--disable-pip-version-check", "--target", str(target), str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    probe = subprocess.run([str(PYTHON39), "-c", "import sys, export_spec as s, personalize_export.finalize as f; print(sys.version_info[:2], s.load_spec.__name__)"],
                           capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(target)}, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "(3, 9) load_spec"
