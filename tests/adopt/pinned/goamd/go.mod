module example.com/goamd

go 1.24
