package reliability_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/voipbin/registrar-operator/hack/testenv"
	"github.com/voipbin/registrar-operator/registrar/internal/siptest"
)

// registrarProcess is cmd/registrar running as a separate process, as in its pod.
type registrarProcess struct {
	cmd  *exec.Cmd
	log  *testenv.LockedBuffer
	done chan struct{}
}

// buildRegistrar builds ./cmd/registrar once per test binary (its tests share it).
func buildRegistrar(t *testing.T) string {
	t.Helper()
	registrarBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "reliability-registrar-")
		if err != nil {
			registrarBuild.err = err
			return
		}
		registrarBuild.dir = dir
		bin := filepath.Join(dir, "registrar")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/registrar")
		cmd.Dir = testenv.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			registrarBuild.err = fmt.Errorf("go build ./cmd/registrar: %w\n%s", err, out)
			return
		}
		registrarBuild.bin = bin
	})
	if registrarBuild.err != nil {
		t.Fatal(registrarBuild.err)
	}
	return registrarBuild.bin
}

// registrarBuild is the binary buildRegistrar made; TestMain removes its folder.
var registrarBuild struct {
	once     sync.Once
	dir, bin string
	err      error
}

// writeKubeconfig writes a kubeconfig for the envtest API server that acts as user:
// the process gets exactly the rights the shipped RBAC gives that identity.
func writeKubeconfig(t *testing.T, user string, groups []string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: adminCfg.Host, CertificateAuthorityData: adminCfg.CAData}
	kc.AuthInfos["registrar"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: adminCfg.CertData, ClientKeyData: adminCfg.KeyData,
		Impersonate: user, ImpersonateGroups: append([]string{"system:authenticated"}, groups...),
	}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "registrar"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// startRegistrarProcess runs cmd/registrar as name on sipAddress, with extra flags
// after the test's defaults (a later flag wins).
func startRegistrarProcess(t *testing.T, bin, kubeconfig, name, sipAddress string, extra ...string) *registrarProcess {
	t.Helper()
	p := &registrarProcess{log: &testenv.LockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{
		"--kubeconfig", kubeconfig,
		"--namespace", registrarNS,
		"--name", name,
		"--sip-address", sipAddress,
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "0",
		"--throttle-source-failures", "0",
	}, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("registrar %s log:\n%s", name, testenv.LastLines(p.log.String(), 30))
		}
	})
	return p
}

// waitServing waits until a REGISTER to target is challenged.
func waitServing(t *testing.T, target, domain string, timeout time.Duration) {
	t.Helper()
	eventually(t, "the registrar answers at "+target, timeout, func() error {
		p := newUDPPhone(t, target, "127.0.0.1", "probe", domain, "x")
		defer p.Close()
		p.Timeout = 300 * time.Millisecond
		res, err := p.Register("", 0, 60)
		if err != nil {
			return err
		}
		if res.StatusCode != 407 {
			return fmt.Errorf("answered %d", res.StatusCode)
		}
		return nil
	})
}

// A registrar killed with SIGKILL (no flush, no goodbye) loses no registration: its
// 1,000 bindings stay in status, and the process started again under the same name
// holds them all again and accepts the devices' refreshes on their Call-IDs.
func TestSIGKILLedRegistrarKeepsEveryBinding(t *testing.T) {
	const (
		users, perUser = 100, 10 // 1,000 SIPp bindings
		first          = 2000
		phoneUser      = "2100" // one more extension, for a raw phone on its own Call-ID
	)
	bin := buildRegistrar(t)
	tn := newTenant(t, users+1, first, perUser)
	kubeconfig := writeKubeconfig(t, registrarSA, serviceAccountGroups())
	port := freePort(t, "127.0.0.1")
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	killed := startRegistrarProcess(t, bin, kubeconfig, "replica-k", target)
	start := time.Now()
	waitServing(t, target, tn.domain, wait)
	t.Logf("registrar process serving after %s", time.Since(start).Round(time.Millisecond))

	// 1,000 REGISTERs over UDP: each of 100 users from 10 contacts, one SIPp run per
	// user (see testdata/sipp/register-contacts.xml for why), four runs at a time.
	start = time.Now()
	if err := registerWithSIPp(t, tn, first, users, perUser, target); err != nil {
		t.Fatal(err)
	}
	sippTime := time.Since(start)

	phone := newUDPPhone(t, target, "127.0.0.1", phoneUser, tn.domain, tn.passwords[phoneUser])
	defer phone.Close()
	nonce, _, err := phone.Authenticated(3600)
	if err != nil {
		t.Fatal(err)
	}
	want := users*perUser + 1
	tn.waitBindings(t, want, time.Minute)
	t.Logf("%d REGISTERs by SIPp in %s; all %d bindings in status %s after the first REGISTER",
		users*perUser, sippTime.Round(time.Millisecond), want, time.Since(start).Round(time.Millisecond))

	// SIGKILL: nothing is flushed, nothing removed.
	if err := killed.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-killed.done
	_, total, err := tn.bindings(context.Background())
	if err != nil || total != want {
		t.Fatalf("after SIGKILL status shows %d bindings (%v), want %d", total, err, want)
	}

	start = time.Now()
	startRegistrarProcess(t, bin, kubeconfig, "replica-k", target)
	waitServing(t, target, tn.domain, wait)
	t.Logf("restarted process serving after %s", time.Since(start).Round(time.Millisecond))

	// The phone refreshes on its Call-ID with the nonce it already has: the restarted
	// process did not issue it (nonces are bound to their process, whose nonce counts
	// died with it), so it answers stale=true and the phone retries at once.
	res, err := phone.Register(nonce, 2, 3600)
	if err != nil || res.StatusCode != 407 || !siptest.IsStale(res) {
		t.Fatalf("refresh after restart with the old nonce: %v %v, want 407 with stale=true", res, err)
	}
	if nonce, err = siptest.Nonce(res); err != nil {
		t.Fatal(err)
	}
	if res, err = phone.Register(nonce, 1, 3600); err != nil || res.StatusCode != 200 {
		t.Fatalf("refresh after restart: %v %v", res, err)
	}
	if n := contactCount(res); n != 1 {
		t.Errorf("refresh lists %d contacts, want 1", n)
	}
	// The restarted replica holds the SIPp bindings too: a query by their owner lists
	// all ten.
	for _, u := range []string{"2000", "2042", "2099"} {
		q := newUDPPhone(t, target, "127.0.0.1", u, tn.domain, tn.passwords[u])
		res, err := q.Query("", 0)
		if err == nil {
			var n string
			if n, err = siptest.Nonce(res); err == nil {
				res, err = q.Query(n, 1)
			}
		}
		q.Close()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("query %s: %v %v", u, res, err)
		}
		if n := contactCount(res); n != perUser {
			t.Errorf("after restart %s lists %d contacts, want %d", u, n, perUser)
		}
	}
	// Status: still every binding, once, held by replica-k.
	// For a second, poll that no (wrong) rewrite by the restarted process shows.
	if err := testenv.Consistently(time.Second, func() error {
		_, n, err := tn.bindings(context.Background())
		if err == nil && n != want {
			err = fmt.Errorf("after restart status shows %d bindings, want %d", n, want)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
	got, total, err := tn.bindings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if total != want {
		t.Errorf("after restart status shows %d bindings, want %d", total, want)
	}
	for aor, bs := range got {
		seen := map[string]bool{}
		for _, b := range bs {
			if seen[b.URI] {
				t.Errorf("%s: %s twice", aor, b.URI)
			}
			seen[b.URI] = true
			if b.Registrar != "replica-k" {
				t.Errorf("%s: %s held by %s", aor, b.URI, b.Registrar)
			}
		}
	}
}

// registerWithSIPp registers perUser contacts for each of users extensions numbered
// from first, with SIPp over UDP from 127.0.0.1.
func registerWithSIPp(t *testing.T, tn *tenant, first, users, perUser int, target string) error {
	t.Helper()
	jobs := make(chan int)
	errs := make(chan error, users)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				u := strconv.Itoa(first + i)
				// A port free when asked may be taken by the time SIPp binds it (four
				// runs at once, other tests beside): SIPp then sends nothing, so it
				// runs again on another port.
				for try := 1; ; try++ {
					out, err := sipp(t, time.Minute,
						"-sf", filepath.Join("testdata", "sipp", "register-contacts.xml"),
						"-t", "u1", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t, "127.0.0.1")),
						"-m", strconv.Itoa(perUser), "-r", "100", "-l", strconv.Itoa(perUser),
						"-timeout", "30s", "-timeout_error", "-recv_timeout", "5s",
						"-au", u, "-ap", tn.passwords[u], "-auth_uri", tn.domain,
						"-key", "domain", tn.domain, "-key", "user", u, "-key", "expires", "3600",
						target)
					if err != nil && try < 5 && strings.Contains(out+err.Error(), "Unable to bind main socket") {
						continue
					}
					errs <- err
					break
				}
			}
		}()
	}
	for i := range users {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
