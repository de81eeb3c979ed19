"""Render the state machine template exactly as Terraform's templatefile()
does for this template's variables: function_arns, notification_topic_arn,
partition and map_max_concurrency."""
from __future__ import annotations

import json
import re
from pathlib import Path

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "training.asl.json.tftpl"

_FUNCTION_REF = re.compile(r'\$\{function_arns\["([^"\]]+)"\]\}')
_TOPIC_REF = re.compile(r"\$\{notification_topic_arn\}")
_PARTITION_REF = re.compile(r"\$\{partition\}")
_MAP_CONCURRENCY_REF = re.compile(r"\$\{map_max_concurrency\}")
_ANY_INTERPOLATION = re.compile(r"(?<!\$)\$\{|(?<!%)%\{")


def function_keys(template: str | None = None) -> set[str]:
    """The registry keys the template references."""
    text = template if template is not None else TEMPLATE_PATH.read_text(encoding="utf-8")
    return set(_FUNCTION_REF.findall(text))


def render_definition(function_arns: dict, notification_topic_arn: str, template: str | None = None, *,
                      partition: str, map_max_concurrency: int) -> str:
    """The rendered ASL JSON text. Fails like templatefile() would on a missing
    map key, and refuses any interpolation other than the template's variables.
    map_max_concurrency must be at least 1: a Map's MaxConcurrency of 0 means no limit
    (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html)."""
    if isinstance(map_max_concurrency, bool) or not isinstance(map_max_concurrency, int) or map_max_concurrency < 1:
        raise ValueError(f"map_max_concurrency must be an integer of at least 1 (got {map_max_concurrency!r})")
    if not re.fullmatch(r"aws(-[a-z]+)*", partition):
        raise ValueError(f"partition must be an AWS partition such as aws, aws-cn or aws-us-gov (got {partition!r})")
    text = template if template is not None else TEMPLATE_PATH.read_text(encoding="utf-8")
    missing = sorted(function_keys(text) - set(function_arns))
    if missing:
        raise KeyError(f"function_arns has no key(s) {missing} used by the template")
    text = _FUNCTION_REF.sub(lambda m: function_arns[m.group(1)], text)
    text = _TOPIC_REF.sub(lambda m: notification_topic_arn, text)
    text = _PARTITION_REF.sub(lambda m: partition, text)
    text = _MAP_CONCURRENCY_REF.sub(lambda m: str(map_max_concurrency), text)
    stray = _ANY_INTERPOLATION.search(text)
    if stray:
        raise ValueError(f"unsupported template interpolation at offset {stray.start()}: {text[stray.start():stray.start() + 40]!r}")
    # templatefile() turns the escapes $${ and %%{ into literal ${ and %{.
    text = text.replace("$${", "${").replace("%%{", "%{")
    json.loads(text)
    return text
