"""What the benchmark scripts share, one job a module.

- ``processes``: starting and stopping child processes (the hub, a load generator), ports;
- ``stack``: the topologies (embedded, PostgreSQL + Redis with N workers) and their hub;
- ``load``: Telegram webhook load from many customers over keep-alive connections;
- ``metrics``: CPU and RSS from /proc, percentiles;
- ``probe``: a loopback /healthz probe that catches event-loop stalls;
- ``profile``: a py-spy record read as the functions holding most samples;
- ``scrape``: the hub's Prometheus /metrics: routed counts, latency histograms;
- ``report``: the machine, tables, PASS/MISS, and the shared ``main`` of a script.
"""
