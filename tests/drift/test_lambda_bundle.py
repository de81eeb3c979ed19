"""The drift Lambda's zip holds its handler and the export spec package, nothing of the
export jobs: no Spark code, and it imports with the standard library and boto3 alone.

The bundle is rebuilt from the module's own ``bundle_roots`` (as ``archive_file`` packs it),
then imported in a fresh interpreter whose path holds only that bundle and the site
packages, with pyspark, py4j, PyYAML and the export package refused at import time."""
from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from tools import tfmodel
from tools.tfmodel import REPO_ROOT

MODULE_DIR = REPO_ROOT / "modules" / "schema-drift-alerts"
DEMO_SPEC = REPO_ROOT / "glue" / "sample_data" / "export_spec.yaml"
# boto3 is in every Lambda Python runtime; these are what the export jobs need and the Lambda must not.
REFUSED = ("pyspark", "py4j", "yaml", "personalize_export")


def _bundle(target: Path) -> list[str]:
    """Copy the files the module zips into ``target``; return their names in the zip."""
    roots = tfmodel.load_module(MODULE_DIR).locals["bundle_roots"]
    names = []
    for quoted_package, directory in roots.items():
        package = quoted_package.strip('"')
        source = Path(directory.strip('"').replace("${path.module}", str(MODULE_DIR))).resolve()
        for path in sorted(source.rglob("*.py")):  # fileset(dir, "**/*.py")
            if "__pycache__" in path.parts:
                continue
            name = f"{package}/{path.relative_to(source).as_posix()}"
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / name)
            names.append(name)
    return names


def _top_level_imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_bundle_holds_the_handler_and_the_spec_package_and_no_spark_code(tmp_path):
    names = _bundle(tmp_path)
    packages = {name.split("/")[0] for name in names}
    assert packages == {"schema_drift", "export_spec"}
    for name in names:
        imports = _top_level_imports((tmp_path / name).read_text(encoding="utf-8"))
        # PyYAML is imported lazily by the spec package for YAML text only; the Lambda reads
        # the JSON rendering Terraform publishes (proved by the import test below).
        foreign = imports - set(sys.stdlib_module_names) - packages - {"boto3", "botocore", "yaml"}
        assert not foreign, f"{name} imports {sorted(foreign)}: the drift Lambda ships only the stdlib, boto3 and its bundle"
        assert not imports & {"pyspark", "py4j", "personalize_export"}, f"{name} imports Spark or export job code"


def test_bundle_imports_and_reads_the_published_spec_with_spark_and_yaml_blocked(tmp_path):
    bundle = tmp_path / "bundle"
    _bundle(bundle)
    # Terraform publishes the spec as jsonencode(yamldecode(file)): the Lambda reads JSON.
    spec_json = json.dumps(yaml.safe_load(DEMO_SPEC.read_text(encoding="utf-8")))
    probe = textwrap.dedent(f"""
        import importlib.abc, io, json, pkgutil, sys

        REFUSED = {REFUSED!r}

        class Refuse(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in REFUSED:
                    raise ImportError("the drift Lambda must not import " + name)
                return None

        sys.meta_path.insert(0, Refuse())
        sys.path.insert(0, {str(bundle)!r})
        import schema_drift
        for module in pkgutil.walk_packages(schema_drift.__path__, "schema_drift."):
            __import__(module.name)
        from schema_drift.read_map import load_read_map

        class S3:
            def get_object(self, Bucket, Key):
                return {{"Body": io.BytesIO({spec_json!r}.encode("utf-8"))}}

        read_map = load_read_map(S3(), "s3://artifacts/config/export-spec.json")
        print(json.dumps({{"orders": sorted(read_map.jobs_for_table("personalize_sample", "retail_public_orders")),
                          "spark_loaded": sorted(m for m in sys.modules if m.split(".")[0] in REFUSED)}}))
    """)
    # No PYTHONPATH: the repository's glue/ folder (and its export package) is not reachable.
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "eu-west-1"})
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"orders": ["export_interactions"], "spark_loaded": []}
