"""Sample: reads from the Kubernetes API and Prometheus, turned into plain typed values."""
