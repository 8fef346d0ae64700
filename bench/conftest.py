"""Loads the sweep's pytest plugin (``bench.run.plugin``) for ``pytest bench``."""

pytest_plugins = ["bench.run.plugin"]
