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

// --registrar-service-annotations takes a JSON object, so that values with commas and
// '=' (AWS's target group attributes) pass; empty is none; anything else names the flag.
func TestServiceAnnotationsFlag(t *testing.T) {
	parse := func(args ...string) (map[string]string, error) {
		var m map[string]string
		set := flag.NewFlagSet("operator", flag.ContinueOnError)
		set.SetOutput(io.Discard)
		set.Var(jsonMapFlag(&m), "registrar-service-annotations", "")
		return m, set.Parse(args)
	}
	got, err := parse(`--registrar-service-annotations={"a.example.com/x":"k1=v1,k2=v2","b":""}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"a.example.com/x": "k1=v1,k2=v2", "b": ""}; !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("annotations %v, want %v", got, want)
	}
	if got, err := parse("--registrar-service-annotations="); err != nil || got != nil {
		t.Errorf("empty: %v, %v; want none", got, err)
	}
	for _, bad := range []string{"a=b", `{"a":1}`, `["a"]`} {
		if _, err := parse("--registrar-service-annotations=" + bad); err == nil || !strings.Contains(err.Error(), "flag -registrar-service-annotations:") {
			t.Errorf("%s: error %v, want one naming the flag", bad, err)
		}
	}
}

// A load balancer class or source ranges need a LoadBalancer Service (the API server
// refuses them on any other), and every range must be a CIDR.
func TestCheckService(t *testing.T) {
	lb := controllers.DefaultFleetOptions()
	lb.ServiceType = corev1.ServiceTypeLoadBalancer
	lb.LoadBalancerClass = "service.k8s.aws/nlb"
	lb.LoadBalancerSourceRanges = []string{"203.0.113.0/24", "2001:db8::/32"}
	if err := checkService(lb); err != nil {
		t.Errorf("LoadBalancer with class and ranges refused: %v", err)
	}
	if err := checkService(controllers.DefaultFleetOptions()); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
	for what, tc := range map[string]struct {
		change  func(*controllers.FleetOptions)
		message string
	}{
		"class on NodePort": {func(f *controllers.FleetOptions) { f.ServiceType = corev1.ServiceTypeNodePort },
			"--registrar-load-balancer-class=service.k8s.aws/nlb needs --registrar-service-type=LoadBalancer"},
		"ranges on ClusterIP": {func(f *controllers.FleetOptions) {
			f.ServiceType, f.LoadBalancerClass = corev1.ServiceTypeClusterIP, ""
		},
			"--registrar-load-balancer-source-ranges needs --registrar-service-type=LoadBalancer"},
		"no CIDR": {func(f *controllers.FleetOptions) { f.LoadBalancerSourceRanges = []string{"203.0.113.7"} },
			`"203.0.113.7" is no CIDR`},
	} {
		f := lb
		tc.change(&f)
		if err := checkService(f); err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("%s: %v, want %q", what, err, tc.message)
		}
	}
}

// placementFlags binds the three placement flags as main does.
func placementFlags(f *controllers.FleetOptions) *flag.FlagSet {
	set := flag.NewFlagSet("operator", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.Var(labelMapFlag{&f.NodeSelector}, "registrar-node-selector", "")
	set.Var(jsonFlag[[]corev1.Toleration]{&f.Tolerations, "JSON such as [...]"}, "registrar-tolerations", "")
	set.Var(jsonFlag[*corev1.Affinity]{&f.Affinity, "JSON such as {...}"}, "registrar-affinity", "")
	return set
}

// --registrar-node-selector takes a JSON object or key=value pairs;
// --registrar-tolerations and --registrar-affinity the JSON of a pod spec's fields,
// decoded at start; empty (or an empty value) is none.
func TestPlacementFlags(t *testing.T) {
	var f controllers.FleetOptions
	err := placementFlags(&f).Parse([]string{
		`--registrar-node-selector={"sip.example.com/public-ip":"true","pool":"sip"}`,
		`--registrar-tolerations=[{"key":"dedicated","operator":"Equal","value":"sip","effect":"NoSchedule"},{"operator":"Exists","effect":"NoExecute","tolerationSeconds":30}]`,
		`--registrar-affinity={"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"topology.kubernetes.io/zone","operator":"In","values":["a","b"]}]}]}}}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	thirty := int64(30)
	want := controllers.FleetOptions{
		NodeSelector: map[string]string{"sip.example.com/public-ip": "true", "pool": "sip"},
		Tolerations: []corev1.Toleration{
			{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "sip", Effect: corev1.TaintEffectNoSchedule},
			{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &thirty},
		},
		Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}},
			}}},
		}},
	}
	if !equality.Semantic.DeepEqual(f, want) {
		t.Errorf("placement %+v, want %+v", f, want)
	}

	f = controllers.FleetOptions{}
	if err := placementFlags(&f).Parse([]string{"--registrar-node-selector= pool=sip, sip.example.com/public-ip=true"}); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"sip.example.com/public-ip": "true", "pool": "sip"}; !equality.Semantic.DeepEqual(f.NodeSelector, want) {
		t.Errorf("key=value node selector %v, want %v", f.NodeSelector, want)
	}

	f = want
	if err := placementFlags(&f).Parse([]string{"--registrar-node-selector=", "--registrar-tolerations=[]", "--registrar-affinity={}"}); err != nil {
		t.Fatal(err)
	}
	if f.NodeSelector != nil || f.Tolerations != nil || f.Affinity != nil {
		t.Errorf("empty: %+v, want none", f)
	}
}

// Malformed placement flags stop the operator at start (flag.Parse exits) with an
// error naming the flag, instead of a Deployment the API server refuses on every
// reconcile or pods placed anywhere.
func TestPlacementFlagsRefuse(t *testing.T) {
	for _, tc := range []struct{ arg, message string }{
		{`--registrar-tolerations=[{"key":"dedicated"`, "want JSON such as"},
		{`--registrar-tolerations={"key":"dedicated"}`, "cannot unmarshal object"},
		{`--registrar-tolerations=[{"kye":"dedicated"}]`, `unknown field "kye"`},
		{`--registrar-tolerations=[{"tolerationSeconds":"30"}]`, "cannot unmarshal string"},
		{`--registrar-tolerations=[] []`, "more follows its end"},
		{`--registrar-affinity={"nodeAffinity":`, "unexpected EOF"},
		{`--registrar-affinity={"nodeAfinity":{}}`, `unknown field "nodeAfinity"`},
		{`--registrar-affinity=[]`, "cannot unmarshal array"},
		{`--registrar-node-selector={"pool":1}`, "want a JSON object of strings"},
		{`--registrar-node-selector=pool=sip,public`, `"public" has no '='`},
		{`--registrar-node-selector=pool=not a value`, `label value "not a value"`},
		{`--registrar-node-selector==sip`, `label key ""`},
	} {
		var f controllers.FleetOptions
		err := placementFlags(&f).Parse([]string{tc.arg})
		name, _, _ := strings.Cut(strings.TrimPrefix(tc.arg, "--"), "=")
		if err == nil || !strings.Contains(err.Error(), "flag -"+name+":") || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("%s: error %v, want one naming the flag with %q", tc.arg, err, tc.message)
		}
	}
}
