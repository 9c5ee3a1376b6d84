"""Seeded synthetic data generators (no Qt, no pyvista): the Việt Trì pilot district.

A tool that makes assets, run from the repository root
(``python -m tools.synth.district``); the model package ``twin`` never imports it.
"""
