"""Seeded synthetic data generators (no Qt, no pyvista): the Việt Trì pilot district
(``district``) and the Sơn La pilot scene on terrain (``son_la``, ``dem``).

A tool that makes assets, run from the repository root
(``python -m tools.synth.district``); the model package ``twin`` never imports it.
"""
