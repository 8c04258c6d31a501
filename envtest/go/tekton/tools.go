//go:build tools

// Pins the Tekton Pipelines controller command so `go mod tidy` keeps its dependencies.
package tools

import _ "github.com/tektoncd/pipeline/cmd/controller"
