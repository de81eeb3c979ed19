"""Glue Python-shell job start_training: validate the export and hand off to training.

Assembles manifest.json with the readiness verdict, moves exports/latest.json, removes
exports beyond --keep_exports, then writes the training params file (--params_uri) from
the template (--params_template_uri) with this run's manifest URI. Fails, naming the
broken rule, when the export is not ready.
"""
from __future__ import annotations

from personalize_export.glue_entry import start_training_main


def main() -> None:
    start_training_main()


if __name__ == "__main__":
    main()
