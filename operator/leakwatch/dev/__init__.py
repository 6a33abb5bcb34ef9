"""Development tools: the local real control plane used by the tests and the demo. Never
imported by the operator itself."""
