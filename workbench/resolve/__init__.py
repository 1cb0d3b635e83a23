"""Mentions to canonical actors, countries and places."""
