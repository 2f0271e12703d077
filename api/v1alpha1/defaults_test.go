package v1alpha1_test

import (
	"encoding/json"
	"os"
	"testing"

	"sigs.k8s.io/yaml"

	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
)

// TestDefaultsMatchTheCRD reads the generated Domain CRD: the defaults the API server
// applies (per field, and to an absent spec.registration) are the constants the
// registrar applies to a published zero.
func TestDefaultsMatchTheCRD(t *testing.T) {
	raw, err := os.ReadFile("../../config/crd/bases/sip.voipbin.net_domains.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema struct {
						Properties struct {
							Spec struct {
								Properties struct {
									Registration struct {
										Default    json.RawMessage `json:"default"`
										Properties map[string]struct {
											Default json.RawMessage `json:"default"`
										} `json:"properties"`
									} `json:"registration"`
								} `json:"properties"`
							} `json:"spec"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	want := sipv1.RegistrationPolicy{
		MinExpires:     sipv1.DefaultMinExpires,
		DefaultExpires: sipv1.DefaultDefaultExpires,
		MaxExpires:     sipv1.DefaultMaxExpires,
		MaxContacts:    sipv1.DefaultMaxContacts,
		OnMaxContacts:  sipv1.DefaultOnMaxContacts,
	}
	found := false
	for _, v := range crd.Spec.Versions {
		if v.Name != sipv1.GroupVersion.Version {
			continue
		}
		found = true
		reg := v.Schema.OpenAPIV3Schema.Properties.Spec.Properties.Registration

		var whole sipv1.RegistrationPolicy
		if err := json.Unmarshal(reg.Default, &whole); err != nil {
			t.Fatalf("spec.registration default %s: %v", reg.Default, err)
		}
		if whole != want {
			t.Errorf("spec.registration defaults to %+v, the constants say %+v", whole, want)
		}

		// Each field's own default, gathered into one object by its JSON name.
		fields := map[string]json.RawMessage{}
		for name, p := range reg.Properties {
			if len(p.Default) == 0 {
				t.Errorf("spec.registration.%s has no default", name)
				continue
			}
			fields[name] = p.Default
		}
		joined, err := json.Marshal(fields)
		if err != nil {
			t.Fatal(err)
		}
		var each sipv1.RegistrationPolicy
		if err := json.Unmarshal(joined, &each); err != nil {
			t.Fatalf("spec.registration field defaults %s: %v", joined, err)
		}
		if each != want {
			t.Errorf("spec.registration's fields default to %+v, the constants say %+v", each, want)
		}
	}
	if !found {
		t.Fatalf("the CRD has no version %s", sipv1.GroupVersion.Version)
	}
}
