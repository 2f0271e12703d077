package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// int32Flag binds a flag to an int32 field.
type int32Flag struct{ p *int32 }

func (f int32Flag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.FormatInt(int64(*f.p), 10)
}

func (f int32Flag) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return fmt.Errorf("want a whole number: %w", err)
	}
	*f.p = int32(v)
	return nil
}

// commaList splits a comma-separated flag value, dropping spaces and empty items.
func commaList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// quantityFlag binds a flag to one resource of a ResourceList; empty removes it.
type quantityFlag struct {
	list *corev1.ResourceList
	name corev1.ResourceName
}

func (f quantityFlag) String() string {
	if f.list == nil {
		return ""
	}
	if q, ok := (*f.list)[f.name]; ok {
		return q.String()
	}
	return ""
}

func (f quantityFlag) Set(s string) error {
	if s == "" {
		delete(*f.list, f.name)
		return nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("want a quantity such as 100m, 0.5, 128Mi or 1G, or empty for none")
	}
	if q.Sign() < 0 {
		return fmt.Errorf("want a quantity of at least 0")
	}
	if *f.list == nil {
		*f.list = corev1.ResourceList{}
	}
	(*f.list)[f.name] = q
	return nil
}

// checkResources refuses a request above its limit, which the API server would refuse
// in the registrar Deployment on every reconcile.
func checkResources(r corev1.ResourceRequirements) error {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := r.Requests[name]
		limit, hasLimit := r.Limits[name]
		if hasReq && hasLimit && req.Cmp(limit) > 0 {
			return fmt.Errorf("--registrar-%s-request=%s is above --registrar-%s-limit=%s", name, req.String(), name, limit.String())
		}
	}
	return nil
}
