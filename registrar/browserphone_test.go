package registrar_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The page and the JsSIP bundle the browser phone runs; hack/ensure-clients.sh
// makes the bundle (make test runs it).
const (
	browserPage   = "../hack/browser/phone.html"
	browserJsSIP  = "../hack/browser/dist/jssip.js"
	browserEvents = 100
)

// browserAccount is what the page registers with: the config.json it fetches.
// An empty WS runs the page without a registrar, to check the harness alone.
type browserAccount struct {
	WS       string `json:"ws"`
	URI      string `json:"uri"`
	Password string `json:"password"`
	Expires  int    `json:"expires"`
}

// browserEvent is what the page reports: JsSIP's events, and errors.
type browserEvent struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	From   string `json:"from"`
	Text   string `json:"text"`
}

// browserPhone is JsSIP in headless Chromium, served by the test over plain HTTP
// on loopback: the page reports JsSIP's events to the test, and takes commands
// from it.
type browserPhone struct {
	t        *testing.T
	origin   string // http://127.0.0.1:port, the page's Origin
	events   chan browserEvent
	commands chan string
	chromium *clientProc
}

// startBrowserPhone serves the page for account and opens it in headless
// Chromium; trust is the base64 SHA-256 of the public key (SPKI) of the
// certificate the browser should accept from the registrar, empty for none.
func startBrowserPhone(t *testing.T, account browserAccount, trust string) *browserPhone {
	t.Helper()
	for _, f := range []string{browserPage, browserJsSIP} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the browser phone needs %s: run hack/ensure-clients.sh (make test does): %v", f, err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &browserPhone{t: t, origin: "http://" + l.Addr().String(),
		events: make(chan browserEvent, browserEvents), commands: make(chan string, 1)}
	srv := &http.Server{Handler: p.routes(account), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.chromium = startClient(t, t.TempDir(), "chromium", chromiumArgs(t.TempDir(), trust, p.origin+"/")...)
	return p
}

// loaded returns the event by which the page says JsSIP is loaded; its text is
// JsSIP's version.
func (p *browserPhone) loaded() browserEvent {
	p.t.Helper()
	return p.expect("loaded")
}

// chromiumArgs runs Chromium headless with a profile of its own in dir, fake
// camera and microphone allowed without asking, and the registrar's certificate
// accepted by its key alone (Chromium honours that list only with a profile
// folder of its own).
func chromiumArgs(dir, trust, url string) []string {
	args := []string{
		"--headless=new", "--no-sandbox", // the tests may run as root
		"--user-data-dir=" + dir, "--no-first-run", "--no-default-browser-check",
		"--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions",
		"--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
		"--enable-logging=stderr", "--v=0",
	}
	if trust != "" {
		args = append(args, "--ignore-certificate-errors-spki-list="+trust)
	}
	return append(args, url)
}

// routes serves the page, JsSIP, the account, the page's events and the test's
// commands.
func (p *browserPhone) routes(account browserAccount) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, browserPage)
	})
	mux.HandleFunc("GET /jssip.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, browserJsSIP)
	})
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(account)
	})
	mux.HandleFunc("POST /event", func(w http.ResponseWriter, r *http.Request) {
		var e browserEvent
		if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case p.events <- e:
		default:
			p.t.Errorf("the browser phone reported more than %d events: %+v dropped", browserEvents, e)
		}
	})
	mux.HandleFunc("GET /command", func(w http.ResponseWriter, r *http.Request) {
		select {
		case c := <-p.commands:
			_, _ = w.Write([]byte(c))
		case <-r.Context().Done():
		}
	})
	return mux
}

// expect returns the next event of type typ the page reports, skipping others;
// an error the page reports fails the test.
func (p *browserPhone) expect(typ string) browserEvent {
	p.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case e := <-p.events:
			if e.Type == "error" {
				p.t.Fatalf("the browser phone failed: %s", e.Text)
			}
			if e.Type == typ {
				return e
			}
			p.t.Logf("the browser phone reported %+v", e)
		case <-deadline:
			p.t.Fatalf("the browser phone reported no %q within %s", typ, wait)
		}
	}
}

// command asks the page to do something: "unregister".
func (p *browserPhone) command(c string) {
	p.t.Helper()
	select {
	case p.commands <- c:
	case <-time.After(wait):
		p.t.Fatalf("the browser phone did not take the command %q within %s", c, wait)
	}
}

// TestBrowserHarness checks the harness alone, without a registrar: Chromium runs
// headless, loads the page and the pinned JsSIP, and the page's events reach the
// test.
func TestBrowserHarness(t *testing.T) {
	p := startBrowserPhone(t, browserAccount{}, "")
	if v := p.loaded().Text; !strings.HasPrefix(v, "3.13.") {
		t.Errorf("the page runs JsSIP %q, want 3.13.x (hack/browser/package-lock.json)", v)
	}
}

var _ = fmt.Sprintf
var _ = exec.Command
var _ = filepath.Join
