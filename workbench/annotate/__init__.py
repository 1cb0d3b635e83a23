"""Stages after resolution, on one stage runner, and their readers."""
