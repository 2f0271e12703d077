package reliability_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voipbin/registrar-operator/registrar/udpfront"
)

// The registrar binary, with its defaults, runs on one P while one core keeps up, and
// takes the machine's cores once requests wait in its socket's queue, as they do on a
// node whose other pods hold the CPU (here: the process is stopped while they
// arrive); once calm again it goes back to one P.
func TestRegistrarTakesMoreCoresWhenRequestsWait(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: the registrar's default is one P, and nothing adapts")
	}
	t.Setenv("GOMAXPROCS", "") // set, it would keep the registrar from adapting
	bin := buildRegistrar(t)
	tn := newTenant(t, 1, 7000, 5)
	kubeconfig := writeKubeconfig(t, registrarSA, serviceAccountGroups())
	ports := freePorts(t, "127.0.0.1", 2)
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	metrics := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	reg := startRegistrarProcess(t, bin, kubeconfig, "replica-procs", target, "--metrics-bind-address", metrics)
	waitServing(t, target, tn.domain, wait)

	procs := func(one bool) func() error {
		return func() error {
			got, err := gomaxprocs(metrics)
			if err == nil && (got == 1) != one {
				err = fmt.Errorf("GOMAXPROCS %d", got)
			}
			return err
		}
	}
	eventually(t, "idle, the registrar runs on one P", 10*time.Second, procs(true))

	// REGISTERs arrive while the registrar cannot run: they wait in its socket's queue.
	phone := newUDPPhone(t, target, "127.0.0.1", "7000", tn.domain, tn.passwords["7000"])
	defer phone.Close()
	if err := reg.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "every thread of the registrar stopped", 10*time.Second, func() error { return allStopped(reg.cmd.Process.Pid) })
	const queued = 20
	for range queued {
		phone.Send(phone.Request(sip.REGISTER, "sip:7000@"+tn.domain, "", "Contact: "+phone.ContactValue(), "Expires: 60"))
	}
	time.Sleep(10 * udpfront.DefaultLateAfter) // the stimulus, not a wait for an event: they age past the late bound
	if err := reg.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for i := range queued {
		if res, err := phone.TryFinal(5 * time.Second); err != nil || (res.StatusCode != 401 && res.StatusCode != 407) {
			t.Fatalf("queued REGISTER %d: %v %v, want a challenge", i, res, err)
		}
	}
	eventually(t, "after requests waited, the registrar runs on more than one P", 10*time.Second, procs(false))
	eventually(t, "calm again, it goes back to one P", 30*time.Second, procs(true))
}

// allStopped tells whether every thread of process pid is stopped by a signal.
func allStopped(pid int) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return err
		}
		// The state follows the command name in parentheses: "T" is stopped.
		if i := bytes.LastIndexByte(stat, ')'); i < 0 || !bytes.HasPrefix(stat[i+1:], []byte(" T")) {
			return fmt.Errorf("thread %s is not stopped: %s", task.Name(), stat[i+1:min(len(stat), i+4)])
		}
	}
	return nil
}

// gomaxprocs reads the registrar's GOMAXPROCS from its metrics.
func gomaxprocs(metricsAddr string) (int, error) {
	res, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer func() { _ = res.Body.Close() }()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_sched_gomaxprocs_threads "); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("no go_sched_gomaxprocs_threads in /metrics (%v)", sc.Err())
}
