"""Glue job arguments (``--name value``), through awsglue when it is there.

In AWS ``awsglue.utils.getResolvedOptions`` parses the arguments. Outside Glue (tests, the
local runner) the same ``--name value`` convention is parsed here, so the entrypoints run
unchanged. Stdlib only, Python 3.9 compatible.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence


def _parse(argv: Sequence[str], names: Sequence[str]) -> Dict[str, str]:
    values: Dict[str, str] = {}
    args = list(argv)
    for index, arg in enumerate(args):
        if not arg.startswith("--"):
            continue
        name, eq, inline = arg[2:].partition("=")
        if name in names:
            if eq:
                values[name] = inline
            elif index + 1 < len(args):
                values[name] = args[index + 1]
    return values


def resolved_options(argv: Sequence[str], required: Sequence[str], optional: Sequence[str] = ()) -> Dict[str, str]:
    """The job arguments ``required`` (error when absent) and ``optional`` (when given)."""
    present_optional: List[str] = [name for name in optional if any(a == "--" + name or a.startswith("--" + name + "=") for a in argv)]
    try:
        from awsglue.utils import getResolvedOptions  # only inside Glue
    except ImportError:
        getResolvedOptions = None
    if getResolvedOptions is not None:
        return dict(getResolvedOptions(list(argv), list(required) + present_optional))
    values = _parse(argv, list(required) + present_optional)
    missing = [name for name in required if name not in values]
    if missing:
        raise SystemExit("missing job argument(s): %s" % ", ".join("--" + m for m in missing))
    return values


def optional_int(values: Dict[str, str], name: str) -> Optional[int]:
    if name not in values or values[name] in ("", None):
        return None
    try:
        return int(values[name])
    except ValueError:
        raise SystemExit("job argument --%s must be an integer (got %r)" % (name, values[name]))
