"""Exports of a scene to formats other programs read (OGC 3D Tiles for the IOC portal).

Only numpy, pyproj and the layer arrays: no VTK objects are created here, so an
export runs headless and in a worker like any other model code.
"""
