//go:build !unix

package procscale

import "time"

// processCPU is unknown here: only requests waiting raise GOMAXPROCS.
func processCPU() time.Duration { return 0 }
