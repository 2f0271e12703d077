package main

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// A run of one fixed-rate step, or one without the latency probe, is still drawn:
// the log axis of the p99 panicked on a single value and on none.
func TestPlotStepsDrawsOneStepAndStepsWithoutAProbe(t *testing.T) {
	for name, rs := range map[string][]stepResult{
		"one step":      {{Target: "registrar-operator", Rate: 3000, Achieved: 2995, ProbeP99: 0.585}},
		"no probe":      {{Target: "registrar-operator", Rate: 3000, Achieved: 2995}, {Target: "registrar-operator", Rate: 6000, Achieved: 5990, ProbeP99: math.NaN()}},
		"several steps": {{Target: "registrar-operator", Rate: 3000, Achieved: 2995, ProbeP99: 0.5}, {Target: "kamailio", Rate: 3000, Achieved: 2990, ProbeP99: 0.9}},
	} {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(t.TempDir(), "steps")
			if err := plotSteps(rs, base); err != nil {
				t.Fatalf("plotSteps: %v", err)
			}
			for _, ext := range []string{".svg", ".png"} {
				if fi, err := os.Stat(base + ext); err != nil || fi.Size() == 0 {
					t.Errorf("%s was not drawn: %v", base+ext, err)
				}
			}
		})
	}
}
