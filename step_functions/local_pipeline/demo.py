"""The whole pipeline on embedded sample data, on one machine (`make demo`).

1. Generate a seeded retail history: orders in a throwaway PostgreSQL server, a product
   catalog as CSV, customer profiles as a document-store JSON export.
2. Run the Glue export workflow locally: prepare -> the three exports -> start_training.
3. Run the real training state machine on that export (moto's interpreter, the real
   Lambda handlers, a local Personalize that trains a popularity baseline and Spark ALS).
4. Print the metrics, the quality gate's verdict and a few users' top-10 recommendations,
   and write the run's HTML report (report.html: charts of the export's counts, the
   readiness checks, the metrics against the gate, the phases on a timeline).
5. The next day: a sale day's orders (and a few late ones) go into PostgreSQL, a few
   products change price, a few customers are erased. The export runs again: INCREMENTAL,
   it reads only the orders past the watermark (minus the late-arrival allowance); the
   state machine imports the delta INCREMENTAL into the same dataset group and retrains
   (report-day2.html).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

DEMO_PARAMS = Path(__file__).with_name("demo_params.json")
# The durations of the simulated Personalize run (seconds): the fake's clock advances
# with the state machine's Wait states, so the two-hour training takes no real time.
SIMULATED_DURATIONS = {"dataset_import_job": 30 * 60, "solution_version": 2 * 3600, "campaign": 20 * 60}
SAMPLE_USERS = 3


def _banner(text: str) -> None:
    print("\n== %s" % text, flush=True)


def _progress(message: str) -> None:
    print("   " + message, flush=True)


def run_demo(out_dir: Path, seed: int = 7) -> int:
    from local_pipeline.harness import LocalPipeline
    from local_pipeline.trainer import LocalTrainer
    from personalize_export.finalize import ReadinessFailed
    from personalize_export.local_workflow import run_local_workflow
    from personalize_export.sparkutil import local_spark_session
    from sample_data.next_day import next_day
    from sample_data.spec import reconciliation_problems, sample_sources

    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    export_root = out_dir / "export"
    params_out = out_dir / "training-params.json"

    _banner("Starting a local Spark session")
    spark = local_spark_session("personalize-demo")
    try:
        _banner("Generating sample history (seed %d) and loading the orders into PostgreSQL" % seed)
        with sample_sources(out_dir / "sources", seed=seed) as sources:
            _progress("orders: %d rows in %s (table orders)" % (sources.orders_loaded, sources.server.jdbc_url))
            _progress("catalog and profiles: %s" % sources.data_dir)
            os.environ.update(sources.environment)

            def export(day: str):
                _banner("Export workflow, %s (the Glue jobs, run locally)" % day)
                try:
                    return run_local_workflow(
                        sources.spec, str(export_root), str(DEMO_PARAMS), str(params_out), spark=spark, progress=_progress
                    )
                except ReadinessFailed as failure:
                    print("export is not ready for training: %s" % failure, file=sys.stderr)
                    return None

            summary = export("day 1")
            if summary is None:
                return 1
            print(summary.format())
            problems = reconciliation_problems(summary.manifest, sources.truth)
            if problems:
                print("the manifest does not reconcile with the generated data:\n  " + "\n  ".join(problems), file=sys.stderr)
                return 1
            print("   every input row is accounted for: rows read = written + rejected + filtered, per reason")

            with LocalPipeline(durations=SIMULATED_DURATIONS, trainer=LocalTrainer(spark=spark)) as pipeline:
                trained = _train(pipeline, summary, params_out, "day 1", out_dir / "report.html")
                if trained is None:
                    return 1
                _print_recommendations(pipeline, trained.summary, Path(summary.run_dir))

                _banner("Day 2: a sale day's orders, late lines, changed prices and erased customers")
                day = next_day(sources.data_dir, sources.server, seed=seed)
                _progress("%d new order lines written to PostgreSQL now; %d late lines stamped %s (before the last "
                          "export's high-water mark)" % (day.new_lines, day.late_lines, day.late_loaded_at))
                _progress("prices changed: %s; customers erased: %s" % (", ".join(day.changed_products), ", ".join(day.erased_customers)))
                delta = export("day 2")
                if delta is None:
                    return 1
                print(delta.format())
                if _train(pipeline, delta, params_out, "day 2", out_dir / "report-day2.html") is None:
                    return 1
        _banner("Done. Exports: %s   Training params: %s" % (export_root, params_out))
        return 0
    finally:
        spark.stop()


def _train(pipeline, summary, params_out: Path, day: str, report_to: Path):
    """Run the training state machine on ``summary``'s export; print what it imported and how it trained."""
    from local_pipeline.report import write_report

    _banner("Training state machine, %s (real ASL and Lambda handlers, local Personalize)" % day)
    _print_imports(summary.manifest)
    params = _params_for(json.loads(params_out.read_text(encoding="utf-8")), summary.manifest)
    started = time.time()
    result = pipeline.run(params, Path(summary.run_dir))
    counts = result.counts()
    _progress("execution %s after %.0f s (%.1f h simulated)" % (
        result.status, time.time() - started, result.simulated_seconds / 3600))
    _progress("%(state_transitions)d state transitions, %(lambda_invocations)d Lambda invocations, "
              "%(error_events)d error events" % counts)
    _progress("report: %s" % write_report(report_to, summary.manifest, result.history, result.summary))
    if result.status != "SUCCEEDED":
        print(json.dumps(result.failure, indent=2), file=sys.stderr)
        return None
    _print_training_result(result.summary, pipeline.fake.models)
    return result


def _params_for(params: dict, manifest: dict) -> dict:
    """The training params for ``manifest``. A training pipeline that does not yet take each
    dataset's import mode from the manifest is asked for INCREMENTAL imports after an
    incremental export (every dataset then imports INCREMENTAL: a full items or users export
    replaces its records by id)."""
    import importlib.util

    follows_manifest = importlib.util.find_spec("personalize_pipeline.imports") is not None
    if not follows_manifest and (manifest.get("export") or {}).get("mode") == "INCREMENTAL":
        params = dict(params, import_mode="INCREMENTAL")
    return params


def _print_imports(manifest: dict) -> None:
    """What the export hands the training pipeline, per dataset: mode, rows, chain."""
    export = manifest.get("export") or {}
    _progress("export %s: %s (%s)" % (manifest["run_id"], export.get("mode", "FULL"), export.get("reason", "")))
    for name, entry in manifest["datasets"].items():
        if entry.get("carried"):
            _progress("  %-12s not imported (carried): %s" % (name, entry.get("carried_reason")))
            continue
        _progress("  %-12s import %-11s %7d rows (%d bytes); the dataset then holds up to %d rows over %d export(s)" % (
            name, entry.get("mode", "FULL"), entry["rows"], entry.get("bytes", 0), entry.get("chain_rows", entry["rows"]),
            len(entry.get("chain") or [1])))


def _print_training_result(outcome: dict, models: dict) -> None:
    from local_pipeline.trainer import EVALUATION_VIEWS

    solutions = outcome["solutions"]
    trained = {name: models.get(solution["solutionVersionArn"]) for name, solution in solutions.items()}
    summary = next((model.summary for model in trained.values() if getattr(model, "summary", None)), None)
    how = "Personalize's method"
    if summary:
        how += "; %d test users not trained on, newest 10%% of each held out; coverage over %d items" % (
            summary["test_users"], summary["items"])
    _banner("Offline metrics (%s)" % how)
    _print_metric_table({name: solution["metrics"] for name, solution in solutions.items()})
    views = sorted({view for model in trained.values() for view in getattr(model, "views", {})})
    for view in views:
        _banner("Other view, not Personalize's: %s (%s)" % (view.replace("_", " "), EVALUATION_VIEWS.get(view, "")))
        _print_metric_table({name: model.views[view] for name, model in trained.items() if view in getattr(model, "views", {})})
    _banner("Quality gate")
    for verdict in outcome["gate"]:
        state = "PASSED" if verdict["passed"] else "REJECTED"
        reasons = ": " + "; ".join(verdict["reasons"]) if verdict["reasons"] else ""
        print("   campaign %s: %s%s" % (verdict["campaign"], state, reasons))
    for name, campaign in outcome["campaigns"].items():
        print("   campaign %s serves %s" % (name, campaign["solutionVersionArn"]))


def _print_metric_table(by_solution: dict) -> None:
    metric_names = sorted({name for metrics in by_solution.values() for name in metrics})
    print("   %-46s" % "metric" + "".join("%12s" % name for name in by_solution))
    for metric in metric_names:
        print("   %-46s" % metric + "".join("%12.4f" % by_solution[name][metric] for name in by_solution))


def _exported_rows(dataset_dir: Path):
    import csv

    for csv_file in sorted(dataset_dir.glob("*.csv")):
        with csv_file.open(encoding="utf-8", newline="") as handle:
            yield from csv.DictReader(handle)


def _print_recommendations(pipeline, outcome: dict, run_dir: Path) -> None:
    users = []
    for row in _exported_rows(run_dir / "interactions"):
        if row["USER_ID"] not in users:
            users.append(row["USER_ID"])
        if len(users) == SAMPLE_USERS:
            break
    titles = {}
    if (run_dir / "items").is_dir():
        # The sample catalog's textual field opens with the product's name.
        titles = {
            row["ITEM_ID"]: (row.get("TITLE") or row.get("DESCRIPTION") or "").split(". ")[0][:70]
            for row in _exported_rows(run_dir / "items")
        }
    for name, campaign in outcome["campaigns"].items():
        _banner("Top 10 recommendations from campaign %s" % name)
        for user in users:
            print("   user %s" % user)
            for rank, item in enumerate(pipeline.recommend(campaign["campaignArn"], user, 10), start=1):
                print("     %2d. %-8s %s" % (rank, item, titles.get(item, "")))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_pipeline.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="out/demo", help="output folder (emptied first)")
    parser.add_argument("--seed", type=int, default=7, help="sample-data seed")
    args = parser.parse_args(argv)
    return run_demo(Path(args.out), seed=args.seed)


if __name__ == "__main__":
    sys.exit(main())
