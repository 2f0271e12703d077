// Command golangci-kal is golangci-lint with kube-api-linter built in as a module
// plugin: what `golangci-lint custom` builds from .custom-gcl.yml, made from Go modules
// alone (`custom` clones golangci-lint's repository with git, which CI cannot reach).
// `make lint-api` builds it into bin/ and runs it with .golangci-kal.yml over api/.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/golangci/golangci-lint/v2/pkg/commands"
	"github.com/golangci/golangci-lint/v2/pkg/exitcodes"

	// Registers the kubeapilinter module plugin.
	_ "sigs.k8s.io/kube-api-linter"
)

func main() {
	info := commands.BuildInfo{Version: "unknown", Commit: "?", Date: "(unknown)"}
	if build, ok := debug.ReadBuildInfo(); ok {
		info.GoVersion = build.GoVersion
		for _, dep := range build.Deps {
			switch dep.Path {
			case "github.com/golangci/golangci-lint/v2":
				info.Version = dep.Version
			case "sigs.k8s.io/kube-api-linter":
				info.Commit = "kube-api-linter " + dep.Version
			}
		}
	}
	if err := commands.Execute(info); err != nil {
		fmt.Fprintf(os.Stderr, "golangci-kal: %v\n", err)
		os.Exit(exitcodes.Failure)
	}
}
