"""Glue Spark job export_interactions: the interactions dataset of the export spec -> Personalize CSV.

Reads the source's Data Catalog table, rejects bad rows with a reason, writes the CSV,
the rejected rows, the Avro schema and a report under <export_root>/exports/<run_id>/.
"""
from __future__ import annotations

from personalize_export.glue_entry import export_main


def main() -> None:
    export_main("interactions")


if __name__ == "__main__":
    main()
