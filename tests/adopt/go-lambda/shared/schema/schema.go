// Package schema holds the event shapes shared by the functions.
package schema

// Event is what a step function hands to finalize.
type Event struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}
