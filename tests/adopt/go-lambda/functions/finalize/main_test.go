package main

import "testing"

func TestBuilds(t *testing.T) {}
