package testenv

import (
	"errors"
	"os/exec"
)

// NeedSIPp fails when SIPp, the phone most registrar tests drive, is not installed.
func NeedSIPp() error {
	if _, err := exec.LookPath("sipp"); err != nil {
		return errors.New("SIPp is missing: run hack/ensure-sipp.sh (make test does)")
	}
	return nil
}
