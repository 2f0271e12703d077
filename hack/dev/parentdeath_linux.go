package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// envtest starts etcd and kube-apiserver each in a process group of its own, so
// neither a closed terminal's SIGHUP nor a SIGKILL of make dev reaches them: they
// would run on as orphans, about 1 GB each time. The signals make dev catches stop
// them as Ctrl-C does; against the one it cannot catch, SIGKILL, each runs with a
// parent-death signal.
//
// envtest does not let its caller set SysProcAttr.Pdeathsig, so make dev starts them
// through itself: etcd and kube-apiserver in the state folder are links to this
// program which, called by those names, asks the kernel for SIGKILL when its parent
// dies (PR_SET_PDEATHSIG, which execve keeps) and then executes the real binary in its
// own place, keeping its pid. The kernel sends the signal when the *thread* that forked
// the child ends, not the process; so init locks the main goroutine, which starts the
// control plane, to the main thread, which ends only with the process.

// parentPIDEnv tells a guarded binary the pid of make dev, its parent.
const parentPIDEnv = "REGISTRAR_DEV_PID"

// guardedBinaries are the control-plane programs started with a parent-death signal.
var guardedBinaries = []string{"etcd", "kube-apiserver"}

func init() { runtime.LockOSThread() }

// childAttrs start a shipped binary in a process group of its own with a parent-death
// signal (SIGKILL, as the control plane gets: its API server is gone with make dev).
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// guardControlPlane links the guarded binaries in stateDir to this program and returns
// the change that makes envtest start them from there.
func guardControlPlane(stateDir string) (func(*envtest.Environment), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("while finding this program: %w", err)
	}
	// The guarded binaries find the real ones here, without building them again.
	assets, err := testenv.Assets()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Join(stateDir, "bin"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for _, name := range guardedBinaries {
		link := filepath.Join(dir, name)
		if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		if err := os.Symlink(self, link); err != nil {
			return nil, fmt.Errorf("while linking %s to make dev: %w", name, err)
		}
	}
	if err := os.Setenv("KUBEBUILDER_ASSETS", assets); err != nil {
		return nil, err
	}
	if err := os.Setenv(parentPIDEnv, strconv.Itoa(os.Getpid())); err != nil {
		return nil, err
	}
	return func(e *envtest.Environment) {
		if e.ControlPlane.Etcd == nil {
			e.ControlPlane.Etcd = &envtest.Etcd{}
		}
		e.ControlPlane.Etcd.Path = filepath.Join(dir, "etcd")
		e.ControlPlane.GetAPIServer().Path = filepath.Join(dir, "kube-apiserver")
	}, nil
}

// execGuarded, when this program was called as a guarded binary, becomes the real one
// with a parent-death signal, and does not return; otherwise it returns at once.
func execGuarded() {
	name := filepath.Base(os.Args[0])
	if !slices.Contains(guardedBinaries, name) {
		return
	}
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "make dev: while starting %s: %v\n", name, err)
		os.Exit(1)
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		fail(fmt.Errorf("while asking for a parent-death signal: %w", err))
	}
	// make dev may have died between the fork and the prctl: its child has another parent then.
	if strconv.Itoa(os.Getppid()) != os.Getenv(parentPIDEnv) {
		fail(fmt.Errorf("make dev, pid %s, is gone", os.Getenv(parentPIDEnv)))
	}
	real := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), name)
	fail(unix.Exec(real, append([]string{real}, os.Args[1:]...), os.Environ()))
}
