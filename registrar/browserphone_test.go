package registrar_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
	listener net.Listener
	origin   string // http://127.0.0.2:port, the page's Origin
	events   chan browserEvent
	commands chan string
}

// newBrowserPhone reserves the page's address, so that the test knows its Origin
// before it starts the registrar; open serves the page and starts the browser.
func newBrowserPhone(t *testing.T) *browserPhone {
	t.Helper()
	for _, f := range []string{browserPage, browserJsSIP} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the browser phone needs %s: run hack/ensure-clients.sh (make test does): %v", f, err)
		}
	}
	// A host of its own, as a web app's page is on another host than the
	// registrar: the replica (on 127.0.0.1) refuses its Origin unless allowed.
	// Still loopback, which browsers count as secure (microphone allowed).
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return &browserPhone{t: t, listener: l, origin: "http://" + l.Addr().String(),
		events: make(chan browserEvent, browserEvents), commands: make(chan string, 1)}
}

// open serves the page for account and opens it in headless Chromium; trust is
// the base64 SHA-256 of the public key (SPKI) of the certificate the browser
// accepts from the registrar, empty for none.
func (p *browserPhone) open(account browserAccount, trust string) {
	p.t.Helper()
	srv := &http.Server{Handler: p.routes(account), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(p.listener) }()
	p.t.Cleanup(func() { _ = srv.Close() })
	startClient(p.t, p.t.TempDir(), "chromium", chromiumArgs(p.t.TempDir(), trust, p.origin+"/")...)
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
		"--enable-logging=stderr",
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

// expect returns the next event of type typ the page reports, skipping others;
// an error or a failed registration the page reports fails the test.
func (p *browserPhone) expect(typ string) browserEvent {
	p.t.Helper()
	deadline := time.After(wait)
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

// spki is the base64 SHA-256 of the public key of the certificate r serves, as
// Chromium's --ignore-certificate-errors-spki-list wants it.
func spki(t *testing.T, r *tlsReplica) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, "tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block in the replica's certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
