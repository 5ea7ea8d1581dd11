// Package logger is shared by every function; it lives outside their folders.
package logger

import (
	"encoding/json"
	"os"
)

// Info writes one structured log line to standard output.
func Info(msg string, fields map[string]string) {
	line := map[string]string{"level": "info", "msg": msg}
	for k, v := range fields {
		line[k] = v
	}
	_ = json.NewEncoder(os.Stdout).Encode(line)
}
