"""The query API: the nine queries as plans, two engines, the pre-aggregates."""
