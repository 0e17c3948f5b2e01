"""The project's version: setup.cfg reads it from here, and ``--version`` prints it."""
__version__ = "0.2.0"
