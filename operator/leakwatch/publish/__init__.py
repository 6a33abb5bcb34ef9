"""Publish: status patches, Kubernetes Events, Prometheus metrics, rollback actions."""
