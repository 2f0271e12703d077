package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// NeedSIPp fails when SIPp, the phone most registrar tests drive, is not installed.
func NeedSIPp() error {
	if _, err := exec.LookPath("sipp"); err != nil {
		return errors.New("SIPp is missing: run hack/ensure-sipp.sh (make test does)")
	}
	return nil
}

// SIPpTLS is bin/sipp-tls, the SIPp built with TLS (Debian trixie's) that
// hack/ensure-sipp.sh installs into the clone: Debian bookworm's, on the PATH, is
// built without it.
func SIPpTLS() (string, error) {
	p := filepath.Join(Root(), "bin", "sipp-tls")
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("SIPp with TLS (bin/sipp-tls) is missing: run hack/ensure-sipp.sh (make test does)")
	}
	return p, nil
}
