package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on
// every Linux architecture Go runs on.
const clockTicks = 100

// procCPU returns the CPU seconds (user + system, all threads) a process has used,
// from /proc/<pid>/stat; 0 when it is gone.
func procCPU(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: fields start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

// procPPID returns the parent of pid, or -1.
func procPPID(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 2 {
		return -1
	}
	p, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return p
}

// procStatusKB returns a "VmXxx:" or "RssXxx:" field of /proc/<pid>/status in kB.
func procStatusKB(pid int, field string) float64 {
	return fieldKB(fmt.Sprintf("/proc/%d/status", pid), field)
}

// procPSSKB returns the proportional set size: shared pages (Kamailio's shared
// memory) are split between the processes mapping them, so a sum over a process
// tree counts them once.
func procPSSKB(pid int) float64 {
	return fieldKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
}

func fieldKB(path, field string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, field) {
			fs := strings.Fields(line[len(field):])
			if len(fs) > 0 {
				v, _ := strconv.ParseFloat(fs[0], 64)
				return v
			}
		}
	}
	return 0
}

// descendants returns root and every process below it.
func descendants(root int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		children[procPPID(pid)] = append(children[procPPID(pid)], pid)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// childrenNamed returns the direct children of parent whose command name starts with prefix.
func childrenNamed(parent int, prefix string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || procPPID(pid) != parent {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.HasPrefix(strings.TrimSpace(string(comm)), prefix) {
			out = append(out, pid)
		}
	}
	return out
}

// systemBusy returns the CPU seconds all cores spent not idle, from /proc/stat.
func systemBusy() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	var busy float64
	for i, s := range f[1:] {
		v, _ := strconv.ParseFloat(s, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 7 { // guest time is already in user
			break
		}
		busy += v
	}
	return busy / clockTicks
}

// group is a set of processes measured together: the server under test (Kamailio's
// main process and its children, or one registrar).
type group struct {
	pids func() []int
}

func (g group) cpu() float64 {
	var s float64
	for _, p := range g.pids() {
		s += procCPU(p)
	}
	return s
}

// memSampler samples the summed RSS and PSS of a group until stopped.
type memSampler struct {
	stop           chan struct{}
	done           chan struct{}
	mu             sync.Mutex
	peakRSS, peakP float64
}

func sampleMemory(g group, every time.Duration) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			var rss, pss float64
			for _, p := range g.pids() {
				rss += procStatusKB(p, "VmRSS:")
				pss += procPSSKB(p)
			}
			m.mu.Lock()
			m.peakRSS, m.peakP = max(m.peakRSS, rss), max(m.peakP, pss)
			m.mu.Unlock()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// Stop returns the peak RSS and PSS sums in MB.
func (m *memSampler) Stop() (rssMB, pssMB float64) {
	close(m.stop)
	<-m.done
	return m.peakRSS / 1024, m.peakP / 1024
}

// child is a process the benchmark started, in its own process group so that
// stopping it stops everything it forked.
type child struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

func startChild(name, logPath string, env []string, bin string, args ...string) (*child, error) {
	return startConfined(nil, name, logPath, env, bin, args...)
}

// startConfined starts a child inside cg (nil: where the bench runs); the cgroup
// is removed once the child has exited.
func startConfined(cg *cpuCgroup, name, logPath string, env []string, bin string, args ...string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		cg.remove()
		return nil, err
	}
	bin, args = cg.wrap(bin, args)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		cg.remove()
		return nil, fmt.Errorf("while starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); _ = logf.Close(); cg.remove(); close(c.done) }()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stopGrace is how long a child has to exit after SIGTERM.
const stopGrace = 10 * time.Second

// stop sends SIGTERM to the child's process group, then SIGKILL after stopGrace.
func (c *child) stop() {
	if c == nil || c.exited() {
		return
	}
	_ = syscall.Kill(-c.pid(), syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(stopGrace):
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.done
	}
}

// tail returns the last lines of a child's log, for error messages.
func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	ls := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// udpDrops sums the drops column of /proc/net/udp and udp6 for sockets bound to port:
// datagrams the kernel discarded because the socket's receive buffer was full.
func udpDrops(port int) float64 {
	var sum float64
	want := fmt.Sprintf(":%04X", port)
	for _, path := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 13 || !strings.HasSuffix(f[1], want) {
				continue
			}
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// rcvbufErrors is the machine's count of UDP datagrams dropped for a full receive
// buffer (/proc/net/snmp Udp: RcvbufErrors), whichever socket.
func rcvbufErrors() float64 {
	data, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var header []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if !strings.HasPrefix(line, "Udp: ") {
			continue
		}
		f := strings.Fields(line)
		if header == nil {
			header = f
			continue
		}
		for i, h := range header {
			if h == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseFloat(f[i], 64)
				return v
			}
		}
	}
	return 0
}

// socketBufferMax is net.core.rmem_max: the largest receive buffer an unprivileged
// setsockopt gets, and what SIPp is given with -buff_size.
func socketBufferMax() int {
	data, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		return 1 << 20
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || v <= 0 {
		return 1 << 20
	}
	return v
}

// socketRcvBuf is the kernel's receive buffer of the UDP socket(s) bound to port, in
// bytes as ss shows it (rb: twice what setsockopt asked, up to twice rmem_max), one
// figure per socket; empty when ss is missing.
func socketRcvBuf(port int) string {
	out, err := exec.Command("ss", "-u", "-a", "-n", "-m", fmt.Sprintf("sport = :%d", port)).Output()
	if err != nil {
		return ""
	}
	var bufs []string
	for _, m := range rbPattern.FindAllSubmatch(out, -1) {
		bufs = append(bufs, string(m[1]))
	}
	return strings.Join(bufs, " ")
}

var rbPattern = regexp.MustCompile(`skmem:\(r\d+,rb(\d+),`)
