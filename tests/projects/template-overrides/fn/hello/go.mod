module example.com/hello

go 1.24

replace example.com/shared => ../../libs/shared
