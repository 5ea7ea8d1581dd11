module example.com/pipeline/schema

go 1.24
