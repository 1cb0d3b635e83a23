"""SpaCy extraction, local or on a Dask cluster."""
