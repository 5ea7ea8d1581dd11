// Command finalize is an AWS Lambda function (custom runtime, arm64).
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"

	"example.com/shop/shared/logger"
)

// version is set at build time: go.ldflags in matrix.yaml passes -X main.version=....
var version = "dev"

// A minimal Lambda Runtime API loop, to keep this example free of downloads.
func main() {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	logger.Info("starting", map[string]string{"version": version})
	for {
		resp, err := http.Get(fmt.Sprintf("http://%s/2018-06-01/runtime/invocation/next", api))
		if err != nil {
			logger.Info("runtime api unavailable", map[string]string{"error": err.Error()})
			os.Exit(1)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		logger.Info("finalizing", map[string]string{"request": id, "bytes": fmt.Sprint(len(body))})
		url := fmt.Sprintf("http://%s/2018-06-01/runtime/invocation/%s/response", api, id)
		if _, err := http.Post(url, "application/json", nil); err != nil {
			os.Exit(1)
		}
	}
}
