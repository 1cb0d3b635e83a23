"""Inputs into the store: every file becomes articles or rejects."""
