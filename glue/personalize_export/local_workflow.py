"""Run the export workflow on one machine, in the Glue workflow's order.

    prepare -> export_interactions -> export_items -> export_users -> start_training

The same job functions as in AWS run here; only the edges differ: sources are read with
plain Spark readers (files or JDBC) instead of the Data Catalog, and the workflow run
properties live in memory.

    python -m personalize_export.local_workflow --spec SPEC --export-root DIR \\
        --params-template PARAMS_TEMPLATE.json --params-out PARAMS.json [--mode auto|FULL|INCREMENTAL]
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Union

from export_spec import DATASET_NAMES, EXPORT_JOB_BY_DATASET, ExportSpec, SpecError, load_spec
from personalize_export import layout
from personalize_export.finalize import (
    FinalizeResult,
    HandOffRefused,
    ReadinessFailed,
    check_keep_exports,
    check_params_destination,
    finalize_export,
    read_params_template,
)
from personalize_export.incremental import (
    AUTO,
    REQUESTED_MODES,
    ExportModeRefused,
    dataset_window,
    describe_delta,
    previous_manifest_for,
)
from personalize_export.storage import Storage
from personalize_export.workflow import InMemoryRunProperties, current_plan, current_run_id, prepare_export


@dataclass
class RunSummary:
    run_id: str
    export_root: str
    run_dir: str
    manifest_uri: str
    manifest: Dict[str, Any]
    readiness_passed: bool
    params_out: Optional[str]
    deleted_runs: List[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def datasets(self) -> Dict[str, Any]:
        return self.manifest.get("datasets", {})

    @property
    def mode(self) -> str:
        return (self.manifest.get("export") or {}).get("mode", "FULL")

    def format(self) -> str:
        lines = ["Export %s -> %s" % (self.run_id, self.run_dir)]
        export = self.manifest.get("export") or {}
        if export:
            lines.append("  mode: %s (%s); base %s" % (export.get("mode"), export.get("reason"), export.get("base_run_id")))
        for name, entry in self.datasets.items():
            lines.append("  %-12s read %7d  written %7d  rejected %6d  filtered %6d" % (
                name, entry["rows_read"], entry["rows"], entry["rejected"], entry.get("filtered", 0)))
            lines.extend("      " + line for line in describe_delta(entry))
            for reason, count in sorted(entry["rejected_by_reason"].items()):
                lines.append("      rejected %-24s %6d" % (reason, count))
            for status, count in sorted(entry.get("filtered_by_event_type", {}).items()):
                lines.append("      filtered event type %-13s %6d" % (status, count))
        matches = self.manifest.get("item_id_reconciliation") or {}
        if matches:
            lines.append("  item ids: " + ", ".join("%s %d" % (k, v) for k, v in matches.items()))
        verdict = "PASSED" if self.readiness_passed else "FAILED"
        lines.append("  readiness: %s" % verdict)
        for check in self.manifest.get("readiness", {}).get("checks", []):
            if not check["passed"] or check["rule"] in ("min_interactions", "min_users", "min_users_share"):
                lines.append("    [%s] %s: %s" % ("ok" if check["passed"] else "FAIL", check["rule"], check["detail"]))
        lines.append("  manifest: %s" % self.manifest_uri)
        if self.params_out:
            lines.append("  training params: %s" % self.params_out)
        vanished = self.manifest.get("vanished_users")
        if vanished:
            lines.append("  vanished users since %s: %d (%s)" % (vanished["since_run_id"], vanished["count"], vanished["file"]))
        if self.deleted_runs:
            lines.append("  removed old exports: %s" % ", ".join(self.deleted_runs))
        lines.append("  took %.1f s" % self.seconds)
        return "\n".join(lines)


def run_local_workflow(
    spec: Union[ExportSpec, Dict[str, Any], str],
    export_root: str,
    params_template: str,
    params_out: str,
    spark: Any = None,
    progress: Callable[[str], Any] = print,
    keep_exports: Optional[int] = None,
    now_epoch: Optional[int] = None,
    mode: str = AUTO,
) -> RunSummary:
    """Run prepare, the exports and start_training locally; returns the run's summary.

    Raises ``ReadinessFailed`` (with ``.summary`` attached) when the export is not ready
    for training: the manifest is written, ``latest`` is not moved, nothing is deleted.
    ``mode`` is auto (the default), FULL or INCREMENTAL (refused when there is nothing to
    build on).
    """
    from personalize_export.export_job import run_export
    from personalize_export.sources import (
        columns_read,
        read_changed_rows,
        read_source_counted,
        source_high_water_mark,
        watermark_columns,
    )

    started = time.time()
    spec = load_spec(spec) if not isinstance(spec, ExportSpec) else spec
    storage = Storage()
    # What start_training would refuse is refused now, before any export runs.
    check_keep_exports(keep_exports if keep_exports is not None else spec.run.keep_exports, "--keep-exports")
    read_params_template(storage, params_template)
    check_params_destination(params_out)
    own_spark = spark is None
    if own_spark:
        from personalize_export.sparkutil import local_spark_session

        progress("starting a local Spark session")
        spark = local_spark_session("personalize-export", extra_conf={"spark.ui.showConsoleProgress": "false"})
    try:
        properties = InMemoryRunProperties()
        progress("[1/3] prepare")
        plan = prepare_export(properties, spec, export_root, mode, storage)
        run_id = plan.run_id
        progress("  run_id = %s" % run_id)
        progress("  mode = %s" % plan.describe())
        progress("[2/3] exports")
        plan = current_plan(properties)
        previous = previous_manifest_for(storage, export_root, plan)

        def columns(source):
            return columns_read(spec, source.name) | watermark_columns(spec, source.name)

        for name in DATASET_NAMES:
            if name not in spec.datasets:
                continue
            progress("  %s ..." % EXPORT_JOB_BY_DATASET[name])
            report = run_export(
                spark, spec, name, export_root, current_run_id(properties),
                lambda source: read_source_counted(spark, source, spec.base_dir, columns(source)),
                storage=storage, now_epoch=now_epoch, progress=progress,
                window=dataset_window(spec, name, plan, previous),
                read_changes=lambda source, window: read_changed_rows(
                    spark, source, window.watermark, window.read_from, spec.base_dir, columns(source), window.dataset),
                previous_run_id=plan.previous_run_id,
                read_high_water_mark=lambda source, watermark, frame, name=name: source_high_water_mark(
                    spark, source, watermark, frame, name),
            )
            progress("  %s: %d written, %d rejected, %d filtered" % (name, report["rows"], report["rejected"], report["filtered"]))
            for line in describe_delta(report):
                progress("    " + line)
        progress("[3/3] start_training")
        try:
            result: FinalizeResult = finalize_export(
                spec, export_root, current_run_id(properties), params_template, params_out, keep_exports, storage,
                plan=plan,
            )
        except ReadinessFailed as failure:
            failure.summary = RunSummary(
                run_id, export_root, layout.run_root(export_root, run_id), failure.manifest_uri,
                storage.read_json(failure.manifest_uri), False, None, [], time.time() - started,
            )
            raise
        return RunSummary(
            run_id, export_root, layout.run_root(export_root, run_id), result.manifest_uri, result.manifest,
            True, params_out, result.deleted_runs, time.time() - started,
        )
    finally:
        if own_spark:
            spark.stop()


def _keep_exports(text: str) -> int:
    try:
        return check_keep_exports(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc) if text.lstrip("+-").isdigit() else "must be an integer (got %r)" % text)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m personalize_export.local_workflow", description=__doc__.split("\n")[0])
    parser.add_argument("--spec", required=True, help="export spec (YAML or JSON)")
    parser.add_argument("--export-root", required=True, help="folder (or s3:// URI) that receives exports/<run_id>/")
    parser.add_argument("--params-template", required=True, help="training params template (JSON)")
    parser.add_argument("--params-out", required=True, help="where the training params are written")
    parser.add_argument("--keep-exports", type=_keep_exports, default=None,
                        help="successful exports to keep, at least 1 (default: the spec's)")
    parser.add_argument("--mode", default=AUTO, type=lambda text: next((m for m in REQUESTED_MODES if m.lower() == text.lower()), text),
                        choices=REQUESTED_MODES, help="export mode: auto (default: FULL only when needed), FULL or INCREMENTAL")
    args = parser.parse_args(argv)
    try:
        summary = run_local_workflow(args.spec, args.export_root, args.params_template, args.params_out,
                                     keep_exports=args.keep_exports, mode=args.mode)
    except (HandOffRefused, SpecError, ExportModeRefused) as refusal:
        print("export refused: %s" % refusal, file=sys.stderr)
        return 2
    except ReadinessFailed as failure:
        summary = getattr(failure, "summary", None)
        if summary is not None:
            print(summary.format())
        print("export NOT ready for training: %s" % failure, file=sys.stderr)
        return 1
    print(summary.format())
    return 0


if __name__ == "__main__":
    sys.exit(main())
