package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// kamailio is Kamailio (Debian's package) configured as an in-memory registrar with
// digest authentication, on a loopback port of its own.
type kamailio struct {
	addr string
	main *child
	dir  string
}

// ensureKamailio installs Debian's kamailio package when the binary is missing.
func ensureKamailio() error {
	if _, err := exec.LookPath("kamailio"); err == nil {
		return nil
	}
	step("installing Kamailio from Debian (apt-get install kamailio)")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", kamailioName}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("while installing kamailio (apt-get %s): %w; install it as root and retry", strings.Join(args, " "), err)
		}
	}
	_, err := exec.LookPath("kamailio")
	return err
}

// kamailioModulesDir finds the module folder of the installed package.
func kamailioModulesDir() (string, error) {
	for _, pattern := range []string{"/usr/lib/*/kamailio/modules", "/usr/lib/kamailio/modules", "/usr/local/lib*/kamailio/modules"} {
		m, _ := filepath.Glob(pattern)
		for _, d := range m {
			if _, err := os.Stat(filepath.Join(d, "registrar.so")); err == nil {
				return d, nil
			}
		}
	}
	return "", errors.New("no Kamailio module folder with registrar.so found")
}

type kamailioOptions struct {
	Children int
	ShmMB    int
	PkgMB    int
	// ReceiveBuffer is maxbuffer: Kamailio raises its UDP socket's SO_RCVBUF up to it
	// (its default is 256 KiB).
	ReceiveBuffer int
	// CPUs confines Kamailio, workers and all, to this many cores with a CFS quota
	// (cgroup.go); 0: no limit.
	CPUs float64
}

// startKamailio renders hack/bench/kamailio/kamailio.cfg.tmpl with every user's HA1 and
// starts Kamailio in the foreground (-DD), in a process group of its own.
func startKamailio(ctx context.Context, dir string, users []user, o kamailioOptions) (*kamailio, error) {
	if err := ensureKamailio(); err != nil {
		return nil, err
	}
	mods, err := kamailioModulesDir()
	if err != nil {
		return nil, err
	}
	dbDir := filepath.Join(mustAbs(dir), "db")
	if err := os.MkdirAll(dbDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dbDir, "version"),
		[]byte("id(int,auto) table_name(string) table_version(int) \n0:credentials:2\n"), 0o644); err != nil {
		return nil, err
	}
	if err := writeCredentials(filepath.Join(dbDir, "credentials"), users); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	k := &kamailio{addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir}
	tmpl, err := template.ParseFiles(filepath.Join(testenv.Root(), "hack", "bench", "kamailio", "kamailio.cfg.tmpl"))
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	f, err := os.Create(cfgPath)
	if err != nil {
		return nil, err
	}
	// Hash tables with about one entry per slot.
	hashBits := min(max(bits.Len(uint(len(users))), 10), 16)
	err = tmpl.Execute(f, map[string]any{
		"Debug": 0, "Children": o.Children, "MaxBuffer": o.ReceiveBuffer, "Listen": k.addr, "ModulesDir": mods, "DBDir": dbDir, "HashBits": hashBits,
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if out, err := exec.Command("kamailio", "-c", "-f", cfgPath).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("kamailio -c refused %s: %w\n%s", cfgPath, err, out)
	}
	step(fmt.Sprintf("starting Kamailio on %s (%d UDP workers, maxbuffer %d, usrloc db_mode=0, credentials in an htable)", k.addr, o.Children, o.ReceiveBuffer))
	cg, err := newCPUCgroup("kamailio", o.CPUs)
	if err != nil {
		return nil, err
	}
	k.main, err = startConfined(cg, "kamailio", filepath.Join(dir, "kamailio.log"), nil, "kamailio",
		"-f", cfgPath, "-DD", "-E", "-m", fmt.Sprint(o.ShmMB), "-M", fmt.Sprint(o.PkgMB))
	if err != nil {
		return nil, err
	}
	// Up when it answers a registration of the first user.
	err = waitFor(ctx, 30*time.Second, "Kamailio to answer", func() error {
		if k.main.exited() {
			return fmt.Errorf("kamailio exited: %v\n%s", k.main.err, tail(filepath.Join(dir, "kamailio.log"), 15))
		}
		conn, err := net.Dial("udp", k.addr)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close() }()
		return registerOnce(conn, make([]byte, 65536), users[0], 500*time.Millisecond)
	})
	if err != nil {
		k.stop()
		return nil, err
	}
	return k, nil
}

// writeCredentials writes the db_text table the htable loads: key user@domain, value
// HA1 = MD5(user:realm:password) with the domain as realm.
func writeCredentials(path string, users []user) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	_, _ = fmt.Fprintln(w, "id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int) ")
	for i, u := range users {
		_, _ = fmt.Fprintf(w, "%d:%s@%s:0:0:%s:0\n", i+1, u.Name, u.Domain, md5hex(u.Name+":"+u.Domain+":"+u.Password))
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// pids are the main process and its children (the UDP workers, timers, ...).
func (k *kamailio) pids() []int {
	if k.main == nil || k.main.exited() {
		return nil
	}
	return descendants(k.main.pid())
}

func (k *kamailio) stop() {
	if k != nil {
		k.main.stop()
	}
}
