"""The `Workbench` object: one DuckDB file, verb-named methods."""
