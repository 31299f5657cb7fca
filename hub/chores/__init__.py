"""Timers and sweeps the worker repeats: snooze wake-ups, the media sweep, attachment fetches.

A new chore is a class with `run(stopping)` (most use `periodic.every`), started from the
one list in `hub.runtime.worker`.
"""
