package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/voipbin/registrar-operator/controllers"
)

// resourceFlags binds the four resource flags as main does.
func resourceFlags(r *corev1.ResourceRequirements) *flag.FlagSet {
	set := flag.NewFlagSet("operator", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.Var(quantityFlag{&r.Requests, corev1.ResourceCPU}, "registrar-cpu-request", "")
	set.Var(quantityFlag{&r.Requests, corev1.ResourceMemory}, "registrar-memory-request", "")
	set.Var(quantityFlag{&r.Limits, corev1.ResourceCPU}, "registrar-cpu-limit", "")
	set.Var(quantityFlag{&r.Limits, corev1.ResourceMemory}, "registrar-memory-limit", "")
	return set
}

func TestResourceFlags(t *testing.T) {
	r := controllers.DefaultFleetOptions().Resources
	if err := resourceFlags(&r).Parse(nil); err != nil {
		t.Fatal(err)
	}
	want := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("192Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
	if !equality.Semantic.DeepEqual(r, want) {
		t.Errorf("defaults %v, want %v", r, want)
	}
	if err := checkResources(r); err != nil {
		t.Errorf("defaults refused: %v", err)
	}

	r = controllers.DefaultFleetOptions().Resources
	err := resourceFlags(&r).Parse([]string{
		"--registrar-cpu-request=250m", "--registrar-memory-request=", "--registrar-cpu-limit=2", "--registrar-memory-limit=1Gi",
	})
	if err != nil {
		t.Fatal(err)
	}
	want = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
	if !equality.Semantic.DeepEqual(r, want) {
		t.Errorf("custom %v, want %v", r, want)
	}

	// Everything empty: no resources; a flag sets a list that was nil.
	r = corev1.ResourceRequirements{}
	if err := resourceFlags(&r).Parse([]string{"--registrar-memory-limit=64Mi"}); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(r, corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}) {
		t.Errorf("from nothing: %v", r)
	}
}

func TestResourceFlagsRefuse(t *testing.T) {
	for _, arg := range []string{"--registrar-cpu-request=lots", "--registrar-memory-limit=512MB", "--registrar-memory-request=-1Gi"} {
		r := controllers.DefaultFleetOptions().Resources
		err := resourceFlags(&r).Parse([]string{arg})
		name, _, _ := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		if err == nil || !strings.Contains(err.Error(), "flag -"+name+":") {
			t.Errorf("%s: error %v, want one naming the flag", arg, err)
		}
	}
	r := controllers.DefaultFleetOptions().Resources
	if err := resourceFlags(&r).Parse([]string{"--registrar-memory-request=1Gi"}); err != nil {
		t.Fatal(err)
	}
	err := checkResources(r)
	if err == nil || err.Error() != "--registrar-memory-request=1Gi is above --registrar-memory-limit=512Mi" {
		t.Errorf("request above limit: %v", err)
	}
}
