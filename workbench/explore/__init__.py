"""Ipywidgets explorers for the notebooks, which drive a `Workbench`."""
