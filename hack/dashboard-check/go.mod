// dashboard-check: a strict check of Grafana dashboard JSON (hack/build-binaries.sh builds it).
module leakwatch.local/dashboard-check

go 1.22

require github.com/grafana/grafana-foundation-sdk/go v0.0.22
