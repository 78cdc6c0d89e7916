module pirsch-bench-go-sdk

go 1.21

require github.com/pirsch-analytics/pirsch-go-sdk/v2 v2.5.0
