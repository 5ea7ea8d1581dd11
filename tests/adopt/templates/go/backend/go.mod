module example.com/templates/go-backend

go 1.21
