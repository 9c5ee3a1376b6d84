"""Dockable panels of the main window; each is a thin view over :mod:`twin`."""
