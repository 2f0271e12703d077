// Package browser runs a browser softphone for the tests: JsSIP in headless
// Chromium, its page (phone.html) and bundle (dist/jssip.js, made by
// hack/ensure-clients.sh) served by the test over plain HTTP on loopback. The
// page reports JsSIP's events to the test and takes commands from it.
package browser

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// events is how many events the page may report before the test reads them.
const events = 100

// Account is what the page registers with: the config.json it fetches.
type Account struct {
	WS       string `json:"ws"`
	URI      string `json:"uri"`
	Password string `json:"password"`
	Expires  int    `json:"expires"`
}

// Event is what the page reports: JsSIP's events, and errors.
type Event struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	From   string `json:"from"`
	Text   string `json:"text"`
}

// Phone is the page in headless Chromium.
type Phone struct {
	// Origin is the page's, http://127.0.0.2:port: what a registrar must allow.
	Origin string

	t        *testing.T
	wait     time.Duration
	listener net.Listener
	page     string
	jssip    string
	events   chan Event
	commands chan string
}

// NewPhone reserves the page's address, so that the test knows its Origin before
// it starts the registrar; Open serves the page and starts the browser. The
// phone waits up to wait for each event or command.
func NewPhone(t *testing.T, wait time.Duration) *Phone {
	t.Helper()
	dir := filepath.Join(testenv.Root(), "hack", "browser")
	p := &Phone{t: t, wait: wait, page: filepath.Join(dir, "phone.html"), jssip: filepath.Join(dir, "dist", "jssip.js"),
		events: make(chan Event, events), commands: make(chan string, 1)}
	for _, f := range []string{p.page, p.jssip} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the browser phone needs %s: run hack/ensure-clients.sh (make test does): %v", f, err)
		}
	}
	// A host of its own, as a web app's page is on another host than the
	// registrar (on 127.0.0.1), which refuses its Origin unless allowed.
	// Still loopback, which browsers count as secure (microphone allowed).
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	p.listener, p.Origin = l, "http://"+l.Addr().String()
	return p
}

// Open serves the page for account and opens it in headless Chromium; trust is
// the base64 SHA-256 of the public key (SPKI) of the certificate the browser
// accepts from the registrar (see SPKI), empty for none.
func (p *Phone) Open(account Account, trust string) {
	p.t.Helper()
	srv := &http.Server{Handler: p.routes(account), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(p.listener) }()
	p.t.Cleanup(func() { _ = srv.Close() })
	startChromium(p.t, chromiumArgs(p.t.TempDir(), trust, p.Origin+"/"))
}

// routes serves the page, JsSIP, the account, the page's events and the test's
// commands.
func (p *Phone) routes(account Account) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, p.page)
	})
	mux.HandleFunc("GET /jssip.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, p.jssip)
	})
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(account)
	})
	mux.HandleFunc("POST /event", func(w http.ResponseWriter, r *http.Request) {
		var e Event
		if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case p.events <- e:
		default: // the test has stopped listening, or fails for want of an event
			http.Error(w, "too many events", http.StatusServiceUnavailable)
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

// Expect returns the next event of type typ the page reports, skipping others;
// an error or a failed registration the page reports fails the test.
func (p *Phone) Expect(typ string) Event {
	p.t.Helper()
	deadline := time.After(p.wait)
	for {
		select {
		case e := <-p.events:
			if e.Type == "error" || e.Type == "registrationFailed" {
				p.t.Fatalf("the browser phone reported %+v", e)
			}
			if e.Type == typ {
				return e
			}
			p.t.Logf("the browser phone reported %+v", e)
		case <-deadline:
			p.t.Fatalf("the browser phone reported no %q within %s", typ, p.wait)
		}
	}
}

// Command asks the page to do something: "unregister".
func (p *Phone) Command(c string) {
	p.t.Helper()
	select {
	case p.commands <- c:
	case <-time.After(p.wait):
		p.t.Fatalf("the browser phone did not take the command %q within %s", c, p.wait)
	}
}
