"""Durable queues: one port, a database backend (default) and a Redis Streams backend."""
