"""Omnichannel support hub: one thread per customer across every messaging channel."""

__version__ = "0.1.0"
