// Command pause is the sandbox ("pause") container of the single-node cluster of
// `make e2e`: it holds a pod's namespaces and does nothing until it is told to stop.
// Ours, because no registry is reachable to pull one from.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
