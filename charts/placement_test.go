package charts

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// placementValues pin the registrar pods to a dedicated SIP pool of nodes with public
// addresses.
const placementValues = `registrar:
  nodeSelector:
    sip.example.com/public-ip: "true"
  tolerations:
  - {key: dedicated, operator: Equal, value: sip, effect: NoSchedule}
  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 30}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - {key: topology.kubernetes.io/zone, operator: In, values: [zone-a, zone-b]}
`

// The registrar pods' nodeSelector, tolerations and affinity reach the operator as
// JSON flags (controllers.TestRegistrarPlacement puts them on the pods); by default
// none is rendered, and the operator's own placement is not the registrar's.
// Values the operator would refuse at start are refused.
func TestChartRegistrarPlacement(t *testing.T) {
	render := func(values ...string) (map[string]string, obj) {
		d := find(t, parse(t, helmTemplate(t, registrarNamespace, values...)), "Deployment", "registrar-operator")
		return args(t, container(t, d)), d
	}
	flags := []string{"registrar-node-selector", "registrar-tolerations", "registrar-affinity"}
	got, _ := render()
	for _, f := range flags {
		if v, ok := got[f]; ok {
			t.Errorf("--%s=%s rendered by default", f, v)
		}
	}
	got, d := render(writeValues(t, placementValues))
	want := map[string]any{
		"registrar-node-selector": map[string]any{"sip.example.com/public-ip": "true"},
		"registrar-tolerations": []any{
			map[string]any{"key": "dedicated", "operator": "Equal", "value": "sip", "effect": "NoSchedule"},
			map[string]any{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": float64(30)},
		},
		"registrar-affinity": map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
			"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{
				map[string]any{"key": "topology.kubernetes.io/zone", "operator": "In", "values": []any{"zone-a", "zone-b"}},
			}}},
		}}},
	}
	for _, f := range flags {
		var v any
		if err := json.Unmarshal([]byte(got[f]), &v); err != nil {
			t.Errorf("--%s=%s: %v", f, got[f], err)
		} else if !reflect.DeepEqual(v, want[f]) {
			t.Errorf("--%s=%s, want %v", f, got[f], want[f])
		}
	}
	for _, p := range []string{"nodeSelector", "tolerations", "affinity"} {
		if v := field(d, "spec", "template", "spec", p); v != nil {
			t.Errorf("operator pod %s = %v: registrar.%s is the registrar pods'", p, v, p)
		}
	}

	h := helm(t)
	for _, tc := range []struct{ values, message string }{
		{"registrar: {nodeSelector: {pool: 1}}", "at '/registrar/nodeSelector/pool': got number, want string"},
		{"registrar: {tolerations: {key: dedicated}}", "at '/registrar/tolerations': got object, want array"},
		{"registrar: {tolerations: [{kye: dedicated}]}", "at '/registrar/tolerations/0'"},
		{"registrar: {tolerations: [{key: dedicated, operator: Is}]}", "at '/registrar/tolerations/0/operator'"},
		{"registrar: {affinity: {nodeAfinity: {}}}", "at '/registrar/affinity'"},
	} {
		_, err := run(nil, h, "template", "registrar-operator", chart, "--values", writeValues(t, tc.values))
		if err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("helm template with %q: %v, want a refusal with %q", tc.values, err, tc.message)
		}
	}
}
