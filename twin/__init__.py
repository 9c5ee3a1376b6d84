"""CityTwin model: georeferenced scenes, layers, styles and rendering, with no Qt.

Heavy libraries (VTK, pyvista) are imported by the submodules that need them, so
``import twin`` stays cheap for the CLI.
"""
