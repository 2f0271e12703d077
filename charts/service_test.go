package charts

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// lbValues declare what a cloud load balancer needs of the registrar Service.
const lbValues = `registrar:
  serviceType: LoadBalancer
  serviceAnnotations:
    service.beta.kubernetes.io/aws-load-balancer-scheme: internet-facing
    service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: preserve_client_ip.enabled=true,stickiness.enabled=true
  loadBalancerClass: service.k8s.aws/nlb
  loadBalancerSourceRanges: [203.0.113.0/24, "2001:db8::/32"]
`

// The registrar Service's annotations, load balancer class and source ranges reach
// the operator as flags (controllers.TestRegistrarServiceForALoadBalancer puts them on
// the Service); by default none is rendered. Values the API server would refuse (a
// class or ranges without a LoadBalancer, a range that is no CIDR, an annotation that
// is no string) are refused.
func TestChartRegistrarService(t *testing.T) {
	operator := func(values ...string) map[string]string {
		return args(t, container(t, find(t, parse(t, helmTemplate(t, registrarNamespace, values...)), "Deployment", "registrar-operator")))
	}
	flags := []string{"registrar-service-annotations", "registrar-load-balancer-class", "registrar-load-balancer-source-ranges"}
	got := operator()
	for _, f := range flags {
		if v, ok := got[f]; ok {
			t.Errorf("--%s=%s rendered by default", f, v)
		}
	}
	got = operator(writeValues(t, lbValues))
	var annotations map[string]string
	if err := json.Unmarshal([]byte(got["registrar-service-annotations"]), &annotations); err != nil {
		t.Errorf("--registrar-service-annotations=%s: %v", got["registrar-service-annotations"], err)
	}
	want := map[string]string{
		"service.beta.kubernetes.io/aws-load-balancer-scheme":                  "internet-facing",
		"service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": "preserve_client_ip.enabled=true,stickiness.enabled=true",
	}
	if !reflect.DeepEqual(annotations, want) {
		t.Errorf("annotations %v, want %v", annotations, want)
	}
	if got["registrar-load-balancer-class"] != "service.k8s.aws/nlb" {
		t.Errorf("--registrar-load-balancer-class=%q", got["registrar-load-balancer-class"])
	}
	if got["registrar-load-balancer-source-ranges"] != "203.0.113.0/24,2001:db8::/32" {
		t.Errorf("--registrar-load-balancer-source-ranges=%q", got["registrar-load-balancer-source-ranges"])
	}

	h := helm(t)
	for _, tc := range []struct{ values, message string }{
		{"registrar: {loadBalancerClass: service.k8s.aws/nlb}", "registrar.loadBalancerClass and registrar.loadBalancerSourceRanges need registrar.serviceType: LoadBalancer"},
		{"registrar: {serviceType: NodePort, loadBalancerSourceRanges: [10.0.0.0/8]}", "need registrar.serviceType: LoadBalancer"},
		{"registrar: {serviceType: LoadBalancer, loadBalancerSourceRanges: [10.0.0.1]}", "at '/registrar/loadBalancerSourceRanges/0'"},
		{"registrar: {serviceType: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/33]}", "at '/registrar/loadBalancerSourceRanges/0'"},
		{"registrar: {serviceType: LoadBalancer, loadBalancerSourceRanges: 10.0.0.0/8}", "at '/registrar/loadBalancerSourceRanges': got string, want array"},
		{"registrar: {serviceAnnotations: {a: 1}}", "at '/registrar/serviceAnnotations/a': got number, want string"},
		{"registrar: {serviceAnnotations: [a]}", "at '/registrar/serviceAnnotations': got array, want object"},
		{"registrar: {serviceType: LoadBalancer, loadBalancerClass: 'not a class'}", "at '/registrar/loadBalancerClass'"},
	} {
		_, err := run(nil, h, "template", "registrar-operator", chart, "--values", writeValues(t, tc.values))
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("helm template with %q: %v, want a refusal with %q", tc.values, err, tc.message)
		}
	}
}
