"""The benchmarks: scripts run as files (``python bench/ingest.py``), built on ``bench.lib``."""
