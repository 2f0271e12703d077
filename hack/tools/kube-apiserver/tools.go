//go:build tools

// Package tools pins the Kubernetes commands built from this module (kube-apiserver for
// the test and dev control plane, kubectl for the tests of the chart and kustomize, and
// the node and controller components for the single-node cluster of `make e2e`), so
// that `go mod tidy` keeps their dependencies.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
