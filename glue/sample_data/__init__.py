"""Embedded retail sample data: a seeded generator, the demo export spec and a
throwaway PostgreSQL server that holds the orders table.

Nothing here runs in AWS; it exists so the export can be demonstrated and tested
on one machine. See docs/sample-data.md.
"""
