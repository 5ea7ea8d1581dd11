module example.com/pipeline/logger

go 1.24
