"""Glue Python-shell job prepare: allocate the export's run id, choose FULL or INCREMENTAL.

The id (UTC time + random suffix, sortable) becomes workflow run property ``run_id``,
which the three export jobs and start_training read; the mode, its reason and base go
beside it (a run property ``export_requested`` asks for a mode).
"""
from __future__ import annotations

from personalize_export.glue_entry import prepare_main


def main() -> None:
    prepare_main()


if __name__ == "__main__":
    main()
