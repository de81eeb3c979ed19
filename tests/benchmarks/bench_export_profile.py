"""Where the interactions transform spends its time, piece by piece.

    .venv/bin/python tests/benchmarks/bench_export_profile.py [--rows 1000000] [--repeat 2]

Uses the synthetic data of bench_export.py (generated if missing). In one Spark
session it evaluates the transform (classify + written rows, written to Spark's `noop`
sink so no file I/O is timed) for the benchmark spec and for variants that each
remove one piece: the full-window duplicate check, the item-id reconciliation, all but one
timestamp format, EVENT_VALUE, CHANNEL. The difference to the full spec is what that
piece costs. The `bare` line is the source read alone, to the same sink; the last line
is what the export job does first (classify without the duplicate rules, persist the
narrow copy on disk as `export_job.persist_classified` does, count), so it shows what
building the persisted copy adds.
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_export  # noqa: E402  (also puts the project's source roots on sys.path)


def variants(base: dict) -> Dict[str, dict]:
    def edit(change: Callable[[dict], None]) -> dict:
        spec = copy.deepcopy(base)
        change(spec)
        return spec

    fields = lambda spec: spec["datasets"]["interactions"]["fields"]  # noqa: E731
    return {
        "full spec": base,
        "without duplicate check": base,  # same spec, classified with the duplicate rules left out
        "without item-id reconciliation": edit(lambda s: s["datasets"].pop("items")),
        "one timestamp format (epoch_seconds)": edit(lambda s: fields(s)["TIMESTAMP"]["timestamp"].update(formats=["epoch_seconds"])),
        "without EVENT_VALUE": edit(lambda s: fields(s).pop("EVENT_VALUE")),
        "without CHANNEL": edit(lambda s: fields(s).pop("CHANNEL")),
    }


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="timings per variant; the fastest is reported")
    parser.add_argument("--work-dir", default=str(bench_export.REPO / "out" / "bench-export"))
    args = parser.parse_args(argv)

    data_dir = bench_export.ensure_data(args.rows, Path(args.work_dir))
    from export_spec import load_spec
    from personalize_export import reconcile, transform
    from personalize_export.sources import read_source
    from personalize_export.sparkutil import local_spark_session

    spark = local_spark_session("bench-export-profile", driver_memory=bench_export.DRIVER_MEMORY)
    # Parquet sources, as in the export (no extended JSON kept as text).
    options = transform.ClassifyOptions(now_epoch=bench_export.HISTORY_START_EPOCH + bench_export.HISTORY_SECONDS,
                                        timestamp_floor=1420070400, text_may_wrap_json=False)

    def run_bare() -> None:
        spark.read.parquet(str(data_dir / "orders")).write.format("noop").mode("overwrite").save()

    def run_spec(spec_dict: dict, dedup: bool) -> None:
        spec = load_spec(spec_dict)
        catalog = reconcile.item_catalog(read_source(spark, spec.source_for("items")), spec, text_may_wrap_json=False) if "items" in spec.datasets else None
        dataset = spec.dataset("interactions")
        source = read_source(spark, spec.sources[dataset.source])
        classified = transform.classify(source, dataset, spec, options, catalog, dedupe=dedup)
        transform.written_rows(classified, dataset).write.format("noop").mode("overwrite").save()

    def run_persisted(spec_dict: dict) -> None:
        """As the export does it: classify without duplicate rules, persist, count."""
        from personalize_export.export_job import persist_classified

        spec = load_spec(spec_dict)
        catalog = reconcile.item_catalog(read_source(spark, spec.source_for("items")), spec, text_may_wrap_json=False)
        dataset = spec.dataset("interactions")
        source = read_source(spark, spec.sources[dataset.source])
        persisted = persist_classified(transform.classify(source, dataset, spec, options, catalog, labels=False))
        persisted.count()
        persisted.unpersist()

    def timed(action: Callable[[], None]) -> float:
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            action()
            best = min(best, time.perf_counter() - started)
        return best

    run_bare()  # warm up the JVM once, outside the timings
    base = bench_export.bench_spec(data_dir)
    results = [("bare read (noop sink)", timed(run_bare))]
    for name, spec in variants(base).items():
        results.append((name, timed(lambda spec=spec, name=name: run_spec(spec, dedup=name != "without duplicate check"))))
        print(f"  {name}: {results[-1][1]:.1f}s", flush=True)
    results.append(("no duplicate check, persisted + count", timed(lambda: run_persisted(base))))
    spark.stop()

    full = dict(results)["full spec"]
    print(f"\n{args.rows:,} rows, fastest of {args.repeat}; transform to the noop sink (no file I/O)")
    print(f"{'variant':<40} {'seconds':>8} {'saves vs full':>14}")
    for name, seconds in results:
        saving = "" if name in ("full spec", "bare read (noop sink)", "no duplicate check, persisted + count") else f"{full - seconds:>13.1f}s"
        print(f"{name:<40} {seconds:>8.1f} {saving:>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
