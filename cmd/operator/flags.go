package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/voipbin/registrar-operator/controllers"
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

// jsonMapFlag binds a flag to a string map given as a JSON object
// ({"key":"value"}): annotation values hold commas and '=' (AWS's do), so no
// key=value list would carry them. Empty is none.
func jsonMapFlag(m *map[string]string) jsonFlag[map[string]string] {
	return jsonFlag[map[string]string]{m, `a JSON object of strings such as {"key":"value"}`}
}

// checkService refuses what the API server would refuse in the registrar Service on
// every reconcile: a load balancer class or source ranges on a Service that is no
// LoadBalancer, a source range that is no CIDR.
func checkService(f controllers.FleetOptions) error {
	if f.ServiceType != corev1.ServiceTypeLoadBalancer {
		if f.LoadBalancerClass != "" {
			return fmt.Errorf("--registrar-load-balancer-class=%s needs --registrar-service-type=LoadBalancer", f.LoadBalancerClass)
		}
		if len(f.LoadBalancerSourceRanges) > 0 {
			return fmt.Errorf("--registrar-load-balancer-source-ranges needs --registrar-service-type=LoadBalancer")
		}
	}
	for _, r := range f.LoadBalancerSourceRanges {
		if _, _, err := net.ParseCIDR(r); err != nil {
			return fmt.Errorf("--registrar-load-balancer-source-ranges: %q is no CIDR such as 203.0.113.0/24", r)
		}
	}
	return nil
}

// checkRecordRouteHost refuses what the registrars could not write in Record-Route
// as a host that phones send to: neither an IP address nor a DNS-1123 subdomain of
// labels of 63 characters at most, or a name whose last label is all digits
// (999.1.1.1: no IP address, and no DNS name ends so). Empty is none.
func checkRecordRouteHost(h string) error {
	if h == "" || net.ParseIP(h) != nil {
		return nil
	}
	refuse := func(why string) error {
		return fmt.Errorf("--registrar-record-route-host=%q: want an IP address or a DNS name such as sip.example.com (%s)", h, why)
	}
	if errs := validation.IsDNS1123Subdomain(h); len(errs) > 0 {
		return refuse(strings.Join(errs, "; "))
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if len(l) > validation.DNS1123LabelMaxLength {
			return refuse(fmt.Sprintf("label %q is longer than %d characters", l, validation.DNS1123LabelMaxLength))
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return refuse("no IP address, and a DNS name's last label is not all digits")
	}
	return nil
}

// labelMapFlag binds a flag to a map of labels, given as a JSON object
// ({"key":"value"}, as the chart passes it) or as key=value pairs separated by commas
// (label values hold neither). Empty is none. A key or value the API server would
// refuse in the registrar pod spec on every reconcile is refused.
type labelMapFlag struct{ m *map[string]string }

func (f labelMapFlag) String() string { return jsonMapFlag(f.m).String() }

func (f labelMapFlag) Set(s string) error {
	var m map[string]string
	if strings.HasPrefix(strings.TrimSpace(s), "{") {
		if err := jsonMapFlag(&m).Set(s); err != nil {
			return err
		}
	} else {
		for _, pair := range commaList(s) {
			k, v, ok := strings.Cut(pair, "=")
			if !ok {
				return fmt.Errorf(`want {"key":"value"} or key=value pairs separated by commas: %q has no '='`, pair)
			}
			if m == nil {
				m = map[string]string{}
			}
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	for k, v := range m {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("label value %q of %s: %s", v, k, strings.Join(errs, "; "))
		}
	}
	*f.m = m
	return nil
}

// jsonFlag binds a flag to a value of the Kubernetes API given as JSON, as
// kubectl get -o json shows it in a pod spec (its tolerations, its affinity).
// A field the type lacks is refused, so that a misspelt one stops the operator
// at start instead of placing the pods anywhere. Empty, null, {} and [] are none.
type jsonFlag[T any] struct {
	p    *T
	want string // what an error says the flag wants: "JSON such as …"
}

func (f jsonFlag[T]) String() string {
	if f.p == nil {
		return ""
	}
	b, err := json.Marshal(*f.p)
	if err != nil || isEmptyJSON(b) {
		return ""
	}
	return string(b)
}

func (f jsonFlag[T]) Set(s string) error {
	var v T
	if strings.TrimSpace(s) == "" {
		*f.p = v
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("want %s: %w", f.want, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("want one value, %s: more follows its end", f.want)
	}
	if b, err := json.Marshal(v); err == nil && isEmptyJSON(b) {
		var none T
		v = none
	}
	*f.p = v
	return nil
}

func isEmptyJSON(b []byte) bool {
	s := string(b)
	return s == "null" || s == "{}" || s == "[]"
}
