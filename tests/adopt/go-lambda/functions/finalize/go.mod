module example.com/pipeline/finalize

go 1.24

require (
	example.com/pipeline/logger v0.0.0
	example.com/pipeline/schema v0.0.0
)

replace (
	example.com/pipeline/logger => ../../shared/logger
	example.com/pipeline/schema => ../../shared/schema
)
