package procscale

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (GOMAXPROCS %d)", what, within, runtime.GOMAXPROCS(0))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startRun runs the controller with max Ps and fast ticks until the test ends, and
// waits for it to have moved to one P.
func startRun(t *testing.T, sig Signals) {
	t.Helper()
	defer func(p int) { t.Cleanup(func() { runtime.GOMAXPROCS(p) }) }(runtime.GOMAXPROCS(0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		// A low RaiseCPU: the busy goroutine has to share the machine's cores
		// with the other packages' tests.
		cfg := Config{Max: 2, Interval: 20 * time.Millisecond, LowerAfter: 200 * time.Millisecond, RaiseCPU: 0.25, LowerCPU: 0.1}
		Run(ctx, cfg, sig, logr.Discard())
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if p := runtime.GOMAXPROCS(0); p != 2 {
			t.Errorf("after the controller stopped GOMAXPROCS is %d, want its Max 2", p)
		}
	})
	eventually(t, 5*time.Second, "idle, the controller moves to one P", func() bool { return runtime.GOMAXPROCS(0) == 1 })
}

// The process's real CPU: a busy goroutine takes it to all Ps, and its end back to one.
func TestBusyProcessGetsAllPsAndGoesBackWhenCalm(t *testing.T) {
	var told atomic.Int64 // what Changed was told last
	startRun(t, Signals{Changed: func(procs int) { told.Store(int64(procs)) }})
	var stop atomic.Bool
	spun := make(chan struct{})
	go func() {
		defer close(spun)
		for x := 0; !stop.Load(); x++ {
			_ = fmt.Sprint(x) // work the scheduler can preempt
		}
	}()
	eventually(t, 15*time.Second, "busy, the controller moves to all Ps and says so",
		func() bool { return runtime.GOMAXPROCS(0) == 2 && told.Load() == 2 })
	stop.Store(true)
	<-spun
	eventually(t, 15*time.Second, "calm again, it moves back to one P and says so",
		func() bool { return runtime.GOMAXPROCS(0) == 1 && told.Load() == 1 })
}

// Requests waiting in the queue take it to all Ps even when the process's CPU is low,
// as on a node whose other pods leave it less than a core.
func TestWaitingRequestsGetAllPs(t *testing.T) {
	var read, late, looked atomic.Uint64
	startRun(t, Signals{
		CPU: func() time.Duration { return 0 },
		Waits: func() (uint64, uint64) {
			looked.Add(1)
			return read.Load(), late.Load()
		},
	})
	read.Add(100)
	late.Add(1) // one late among a hundred: not a queue
	seen := looked.Load()
	eventually(t, 5*time.Second, "the controller looks again", func() bool { return looked.Load() >= seen+2 })
	if p := runtime.GOMAXPROCS(0); p != 1 {
		t.Fatalf("after one late request in a hundred GOMAXPROCS is %d, want 1", p)
	}
	read.Add(100)
	late.Add(10)
	eventually(t, 5*time.Second, "requests waiting, the controller moves to all Ps", func() bool { return runtime.GOMAXPROCS(0) == 2 })
}
