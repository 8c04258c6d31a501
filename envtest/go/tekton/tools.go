//go:build tools

// Pins the Tekton Pipelines commands the test harness runs (controller, admission webhook,
// remote resolvers), so `go mod tidy` keeps their dependencies at one module version.
package tools

import (
	_ "github.com/tektoncd/pipeline/cmd/controller"
	_ "github.com/tektoncd/pipeline/cmd/resolvers"
	_ "github.com/tektoncd/pipeline/cmd/webhook"
)
