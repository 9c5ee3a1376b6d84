"""Developer tools that make assets (not shipped in the ``citytwin`` distribution)."""
