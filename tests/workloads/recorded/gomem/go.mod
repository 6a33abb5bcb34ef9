module leakwatch.dev/workloads/gomem

go 1.22
