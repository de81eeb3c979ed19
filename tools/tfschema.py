"""A compact hashicorp/aws provider schema, taken offline from the jsii assembly
that npm `@cdktf/provider-aws` ships, plus hand-kept schemas of the few
non-AWS types the modules use.

Shape of the compact schema (JSON, cached under .tools/tf-schema/):

    {"resource": {"aws_s3_bucket": BLOCK, ...}, "data": {...}}
    BLOCK = {"attrs": {"bucket": true|false (required)},
             "blocks": {"rule": {"required": bool, "schema": BLOCK}},
             "loose": {"name": ...}}   # object-typed attributes, written as a block or with "="

How the assembly encodes the provider (read from the package, not documented by it):
- a resource/data source class has base cdktf.TerraformResource / TerraformDataSource and
  its docs summary links .../docs/resources/<name> or .../docs/data-sources/<name>;
- the config struct is the last initializer parameter; a property is required unless
  "optional": true; its snake_case name is the #anchor of its registry doc link;
- a nested block is a property whose summary ends in " block.": a struct type (at most one)
  or a union of IResolvable and an array of a struct (repeatable).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROVIDER_PACKAGE = REPO_ROOT / "node_modules" / "@cdktf" / "provider-aws"
JSII_PATH = PROVIDER_PACKAGE / ".jsii"
CACHE_DIR = REPO_ROOT / ".tools" / "tf-schema"
# Bump when the compact format or the extraction rules change.
BUILDER_VERSION = 3

INSTALL_HINT = "run `make deps` (npm ci installs @cdktf/provider-aws, whose .jsii holds the hashicorp/aws schema)"

_ANCHOR = re.compile(r"/docs/(?:resources|data-sources)/[a-z0-9_]+#([a-z0-9_]+) ")
_TYPE_LINK = re.compile(r"/docs/(resources|data-sources)/([a-z0-9_]+)")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class SchemaUnavailable(RuntimeError):
    """The provider package is missing: the message says how to install it."""


def _snake_name(prop: dict) -> str:
    docs = prop.get("docs", {})
    text = f"{docs.get('summary', '')} {docs.get('remarks', '')} "
    match = _ANCHOR.search(text)
    if match:
        return match.group(1)
    # Only properties without a registry link (none known) fall back to the camelCase name.
    return _CAMEL.sub("_", prop["name"]).lower()


def _struct_of(type_ref: dict) -> tuple[str | None, bool]:
    """(struct fqn, repeatable) of a property's type, or (None, False) for a scalar/collection of scalars."""
    if "fqn" in type_ref:
        return type_ref["fqn"], False
    union = type_ref.get("union")
    if union:
        for member in union["types"]:
            coll = member.get("collection")
            if coll and "fqn" in coll["elementtype"]:
                return coll["elementtype"]["fqn"], True
    coll = type_ref.get("collection")
    if coll and "fqn" in coll.get("elementtype", {}):
        return coll["elementtype"]["fqn"], True
    return None, False


def _block_schema(types: dict, fqn: str, depth: int = 0) -> dict:
    struct = types[fqn]
    out: dict = {"attrs": {}, "blocks": {}, "loose": {}}
    if depth > 12:
        out["any"] = True
        return out
    for prop in struct.get("properties", []):
        name = _snake_name(prop)
        required = not prop.get("optional", False)
        summary = prop.get("docs", {}).get("summary", "")
        nested, _ = _struct_of(prop["type"])
        if nested and nested.startswith("@cdktf/provider-aws.") and nested in types and types[nested].get("kind") == "interface":
            if summary.endswith(" block."):
                out["blocks"][name] = {"required": required, "schema": _block_schema(types, nested, depth + 1)}
            else:
                # Attribute-or-block objects: their children's required flags are unreliable.
                out["loose"][name] = {"required": required}
        else:
            out["attrs"][name] = required
    return out


def build_compact_schema(jsii_path: Path = JSII_PATH) -> dict:
    with open(jsii_path, "rb") as handle:
        assembly = json.load(handle)
    types = assembly["types"]
    schema: dict = {"provider_version": assembly.get("version"), "resource": {}, "data": {}}
    for cls in types.values():
        base = cls.get("base")
        if base not in ("cdktf.TerraformResource", "cdktf.TerraformDataSource"):
            continue
        summary = cls.get("docs", {}).get("summary", "")
        link = _TYPE_LINK.search(summary)
        if not link:
            continue
        kind = "resource" if link.group(1) == "resources" else "data"
        # The Terraform type name is the summary's last word: "... aws_glue_job}."
        type_name = summary.split()[-1].rstrip(".}")
        config_fqn = cls["initializer"]["parameters"][-1]["type"]["fqn"]
        schema[kind][type_name] = _block_schema(types, config_fqn)
    return schema


def _package_version() -> str:
    with open(PROVIDER_PACKAGE / "package.json", encoding="utf-8") as handle:
        return json.load(handle)["version"]


def load_aws_schema() -> dict:
    """The compact schema, built once per package version and cached."""
    if not JSII_PATH.is_file():
        raise SchemaUnavailable(f"{JSII_PATH} is missing: {INSTALL_HINT}")
    version = _package_version()
    cache = CACHE_DIR / f"aws-{version}-b{BUILDER_VERSION}.json"
    if cache.is_file():
        with open(cache, encoding="utf-8") as handle:
            return json.load(handle)
    schema = build_compact_schema()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(schema, handle)
    os.replace(tmp, cache)
    return schema


def _attrs(required: list[str], optional: list[str]) -> dict:
    return {**{n: True for n in required}, **{n: False for n in optional}}


# Hand-kept schemas (hashicorp/archive 2.7 and Terraform's built-in provider):
# these packages ship no machine-readable schema here.
EXTRA_SCHEMAS = {
    "data": {
        "archive_file": {
            "attrs": _attrs(["type", "output_path"], [
                "source_content", "source_content_filename", "source_file", "source_dir",
                "excludes", "exclude_symlink_directories", "output_file_mode",
            ]),
            "blocks": {"source": {"required": False, "schema": {"attrs": _attrs(["content", "filename"], []), "blocks": {}, "loose": {}}}},
            "loose": {},
        },
    },
    "resource": {
        "terraform_data": {"attrs": _attrs([], ["input", "triggers_replace"]), "blocks": {}, "loose": {}},
    },
}


def full_schema() -> dict:
    schema = load_aws_schema()
    merged = {"resource": dict(schema["resource"]), "data": dict(schema["data"])}
    for kind, types in EXTRA_SCHEMAS.items():
        merged[kind].update(types)
    return merged
