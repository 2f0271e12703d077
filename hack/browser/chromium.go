package browser

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

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

// startChromium runs Chromium with args until the test ends, then kills it with
// every process it started; its output is logged when the test failed.
func startChromium(t *testing.T, args []string) {
	t.Helper()
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Fatal("chromium is missing: run hack/ensure-clients.sh (make test does)")
	}
	dir := t.TempDir()
	var out testenv.LockedBuffer
	cmd := exec.Command("chromium", args...)
	cmd.Dir = dir
	// Its home is a folder of its own: nothing of the user's is read or written.
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	// A group of its own, so that killing it takes its renderers too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("while starting chromium: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("chromium's output:\n%s", testenv.LastLines(out.String(), 200))
		}
	})
}

// SPKI is the base64 SHA-256 of the public key of the PEM certificate in file, as
// Chromium's --ignore-certificate-errors-spki-list wants it.
func SPKI(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("while reading the certificate: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return "", fmt.Errorf("no PEM block in %s", file)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("while parsing %s: %w", file, err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}
