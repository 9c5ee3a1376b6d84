"""Analyses over a scene's geometry (no drawing): sun-hours, ..."""
