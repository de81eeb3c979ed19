"""Schema-drift alerts: explain Glue Data Catalog changes against the export spec."""
