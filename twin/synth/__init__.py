"""Seeded synthetic data generators (no Qt, no pyvista): the Việt Trì pilot district."""
