"""The commands: CLI, terminal views, run sessions, the Python API, the pytest plugin."""
