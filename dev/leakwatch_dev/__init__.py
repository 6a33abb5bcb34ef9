"""Development tools: the local real control plane, node and Prometheus used by the tests, the
benches and the demo. A distribution of its own (dev/pyproject.toml), installed only beside
`.[dev]`: the operator never imports it (import-linter) and its image never contains it."""
