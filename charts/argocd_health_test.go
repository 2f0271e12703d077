// Tests of the Argo CD health check of Domains and Extensions, run the way
// Argo CD runs it: gopher-lua, the object as the global `obj`, the chunk's return value
// the health.
package charts

import (
	"os"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

// argoDir holds the Argo CD material shipped in the chart's docs.
const argoDir = "registrar-operator/docs/argocd/"

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// toLua converts decoded JSON into Lua values as Argo CD does: objects become
// tables, arrays 1-based tables, numbers Lua numbers.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range v {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	default:
		return lua.LNil
	}
}

// health runs script against the object in manifest and returns status and message.
func health(t *testing.T, script, manifest string) (string, string) {
	t.Helper()
	var o map[string]any
	if err := yaml.Unmarshal([]byte(manifest), &o); err != nil {
		t.Fatalf("while parsing the test object: %v", err)
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	// Argo CD opens the safe standard libraries only.
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	L.SetGlobal("obj", toLua(L, o))
	if err := L.DoString(script); err != nil {
		t.Fatalf("health.lua failed: %v", err)
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("health.lua returned %s, want a table", L.Get(-1).Type())
	}
	return hs.RawGetString("status").String(), hs.RawGetString("message").String()
}

const domainHead = `
apiVersion: sip.voipbin.net/v1alpha1
kind: Domain
metadata: {name: acme, namespace: sip, generation: 2}
spec: {customerID: acme}
`

const extensionHead = `
apiVersion: sip.voipbin.net/v1alpha1
kind: Extension
metadata: {name: acme-1001, namespace: sip, generation: 1}
spec: {domainRef: acme, extension: "1001"}
`

func TestHealth(t *testing.T) {
	script := readFile(t, argoDir+"health.lua")
	for _, tc := range []struct {
		name, manifest, status, message string
	}{{
		name: "Domain ready",
		manifest: domainHead + `
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "True", reason: Ready, message: serving acme.registrar.voipbin.net, observedGeneration: 2}`,
		status: "Healthy", message: "serving acme.registrar.voipbin.net",
	}, {
		name: "Extension disabled is still healthy",
		manifest: extensionHead + `
status:
  observedGeneration: 1
  conditions:
  - {type: Ready, status: "True", reason: Disabled, message: "disabled: the registrars refuse 1001@acme.registrar.voipbin.net"}`,
		status: "Healthy", message: "disabled: the registrars refuse 1001@acme.registrar.voipbin.net",
	}, {
		name:     "Domain without status",
		manifest: domainHead,
		status:   "Progressing", message: "Waiting for the operator to reconcile the Domain",
	}, {
		name: "Domain changed, not yet observed",
		manifest: domainHead + `
status:
  observedGeneration: 1
  conditions:
  - {type: Ready, status: "True", reason: Ready, message: serving acme.registrar.voipbin.net}`,
		status: "Progressing", message: "Waiting for the operator to observe generation 2 (observed 1)",
	}, {
		name: "Extension waiting for its Domain",
		manifest: extensionHead + `
status:
  observedGeneration: 1
  conditions:
  - {type: Ready, status: "False", reason: DomainNotFound, message: Domain "acme" not found in namespace sip}
  - {type: Reconciling, status: "True", reason: DomainNotFound, message: Domain "acme" not found in namespace sip}`,
		status: "Progressing", message: `DomainNotFound: Domain "acme" not found in namespace sip`,
	}, {
		name: "Extension waiting for its Domain to be Ready",
		manifest: extensionHead + `
status:
  observedGeneration: 1
  conditions:
  - {type: Ready, status: "False", reason: DomainNotReady, message: Domain "acme" is not Ready}`,
		status: "Progressing", message: `DomainNotReady: Domain "acme" is not Ready`,
	}, {
		name: "Extension being applied",
		manifest: extensionHead + `
status:
  observedGeneration: 1
  conditions:
  - {type: Ready, status: "False", reason: Progressing, message: publishing the credentials}
  - {type: Reconciling, status: "True", reason: Progressing, message: publishing the credentials}`,
		status: "Progressing", message: "Progressing: publishing the credentials",
	}, {
		name: "Domain in conflict",
		manifest: domainHead + `
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "False", reason: Conflict, message: 'customer ID "acme" is already served by Domain other/acme; delete one of them'}
  - {type: Stalled, status: "True", reason: Conflict, message: 'customer ID "acme" is already served by Domain other/acme; delete one of them'}`,
		status: "Degraded", message: `Conflict: customer ID "acme" is already served by Domain other/acme; delete one of them`,
	}, {
		name: "Extension without its password Secret",
		manifest: extensionHead + `
status:
  observedGeneration: 1
  conditions:
  - {type: Ready, status: "False", reason: PasswordSecretNotFound, message: Secret "acme-1001-password" not found}`,
		status: "Degraded", message: `PasswordSecretNotFound: Secret "acme-1001-password" not found`,
	}, {
		name: "Extension whose Secret lacks the key",
		manifest: extensionHead + `
status:
  observedGeneration: 1
  conditions:
  - {type: Ready, status: "False", reason: PasswordKeyNotFound, message: Secret "acme-1001-password" has no key "password"}
  - {type: Stalled, status: "True", reason: PasswordKeyNotFound, message: Secret "acme-1001-password" has no key "password"}`,
		status: "Degraded", message: `PasswordKeyNotFound: Secret "acme-1001-password" has no key "password"`,
	}, {
		name: "Domain whose Ready is Unknown",
		manifest: domainHead + `
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "Unknown", reason: Progressing, message: starting}`,
		status: "Progressing", message: "Progressing: starting",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			status, message := health(t, script, tc.manifest)
			if status != tc.status || message != tc.message {
				t.Errorf("got %s %q, want %s %q", status, message, tc.status, tc.message)
			}
		})
	}
}

// TestConfigMapEmbedsHealthLua: argocd-cm.yaml carries health.lua, unchanged, for both kinds.
func TestConfigMapEmbedsHealthLua(t *testing.T) {
	script := readFile(t, argoDir+"health.lua")
	var cm struct {
		Kind string            `json:"kind"`
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, argoDir+"argocd-cm.yaml")), &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Kind != "ConfigMap" {
		t.Fatalf("argocd-cm.yaml is a %s, want a ConfigMap", cm.Kind)
	}
	for _, kind := range []string{"Domain", "Extension"} {
		key := "resource.customizations.health.sip.voipbin.net_" + kind
		if cm.Data[key] != script {
			t.Errorf("argocd-cm.yaml %s is not health.lua: copy it again", key)
		}
	}
}
