package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// sippRun is one SIPp invocation.
type sippRun struct {
	Scenario string // path of the XML
	Users    string // -inf file
	Target   string // host:port
	// AuthURI is SIPp's -auth_uri, the digest-uri of every answer: SIPp has no way to
	// take it per call, and the registrar checks it against the Request-URI, so a run
	// serves one domain.
	AuthURI string
	Rate    float64
	// RatePeriod is -rp: Rate calls every RatePeriod.
	RatePeriod time.Duration
	Calls      int // -m
	Limit      int // -l
	Expires    int
	// LocalPort is SIPp's UDP port (0: a free one). The runs against one server
	// share it, so that each device's contact and source stay the same from run to
	// run, as a phone's do: a new port would make every device a new registration.
	LocalPort int
	PauseMS   int           // -d: the length of <pause/> in the scenario
	Timeout   time.Duration // the run is killed after it
	Dir       string        // working folder: SIPp writes its files here
	RTT       bool          // trace response times (rtd)
	// Stop, when set, ends the run (SIGUSR1, SIPp's graceful quit) when it is closed.
	Stop <-chan struct{}
}

// sippStats is what SIPp reported at the end of a run.
type sippStats struct {
	Created, Successful, Failed, Retrans int
	// Failure detail, as SIPp counts it.
	TimeoutOnRecv, MaxUDPRetrans, Unexpected, DeadCall, OutOfCall int
	Elapsed                                                       float64 // seconds from the first call to the last report
	ExitCode                                                      int
	CPU                                                           float64 // SIPp's own CPU seconds
	// Response times from the rtd traces in milliseconds (SIPp's clock counts whole
	// milliseconds): REGISTER → challenge and authenticated REGISTER → 200.
	ChallengeP50, ChallengeP99, RegisterP50, RegisterP99 float64
}

// freePort returns a port on 127.0.0.1 free for UDP and TCP (the registrar serves
// both), outside the kernel's ephemeral range, and never the same one twice in a
// run of the harness (see testenv.FreePorts).
func freePort() (int, error) {
	ports, err := testenv.FreePorts("127.0.0.1", 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

func (r sippRun) run(ctx context.Context) (sippStats, error) {
	var st sippStats
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return st, err
	}
	port := r.LocalPort
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return st, err
		}
	}
	statFile := filepath.Join(r.Dir, "stat.csv")
	args := []string{
		"-sf", mustAbs(r.Scenario), "-inf", mustAbs(r.Users),
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "u1",
		"-key", "expires", strconv.Itoa(r.Expires), "-auth_uri", r.AuthURI,
		"-r", strconv.FormatFloat(r.Rate, 'f', -1, 64), "-rp", strconv.Itoa(int(r.RatePeriod / time.Millisecond)),
		"-m", strconv.Itoa(r.Calls), "-l", strconv.Itoa(r.Limit),
		// SIPp's default 64 kB socket buffers overflow at a few thousand calls/s and
		// lose responses (counted as retransmissions of a server that did answer).
		"-buff_size", strconv.Itoa(socketBufferMax()),
		"-nostdin", "-nd",
		"-trace_stat", "-stf", statFile, "-fd", "1",
		"-trace_err", "-error_file", filepath.Join(r.Dir, "errors.log"), "-error_overwrite", "true",
		"-trace_screen", "-screen_file", filepath.Join(r.Dir, "screen.log"),
	}
	if r.PauseMS > 0 {
		args = append(args, "-d", strconv.Itoa(r.PauseMS))
	}
	if r.RTT {
		args = append(args, "-trace_rtt", "-rtt_freq", "1000")
	}
	args = append(args, r.Target)
	runCtx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, "sipp", args...)
	cmd.Dir = r.Dir
	logf, err := os.Create(filepath.Join(r.Dir, "sipp.log"))
	if err != nil {
		return st, err
	}
	defer func() { _ = logf.Close() }()
	_, _ = fmt.Fprintln(logf, "sipp", strings.Join(args, " "))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGUSR1) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return st, fmt.Errorf("while starting SIPp: %w", err)
	}
	if r.Stop != nil {
		go func() {
			select {
			case <-r.Stop:
				_ = cmd.Process.Signal(syscall.SIGUSR1)
			case <-runCtx.Done():
			}
		}()
	}
	werr := cmd.Wait()
	if ps := cmd.ProcessState; ps != nil {
		st.ExitCode = ps.ExitCode()
		st.CPU = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	if err := readSippStats(statFile, &st); err != nil {
		return st, fmt.Errorf("SIPp left no statistics (%v): %w\n%s", werr, err, tail(filepath.Join(r.Dir, "sipp.log"), 10))
	}
	if r.RTT {
		readRTT([]string{r.Dir}, &st)
	}
	return st, nil
}

// readSippStats reads the last line of SIPp's -trace_stat file (cumulative counters).
func readSippStats(path string, st *sippStats) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	cr := csv.NewReader(f)
	cr.Comma = ';'
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return err
	}
	var last []string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		last = rec
	}
	if last == nil {
		return errors.New("no statistics line")
	}
	get := func(name string) string {
		if i := slices.Index(header, name); i >= 0 && i < len(last) {
			return last[i]
		}
		return ""
	}
	num := func(name string) int { v, _ := strconv.Atoi(get(name)); return v }
	st.Created = num("OutgoingCall(C)")
	st.Successful = num("SuccessfulCall(C)")
	st.Failed = num("FailedCall(C)")
	st.Retrans = num("Retransmissions(C)")
	st.TimeoutOnRecv = num("FailedTimeoutOnRecv(C)")
	st.MaxUDPRetrans = num("FailedMaxUDPRetrans(C)")
	st.Unexpected = num("FailedUnexpectedMessage(C)")
	st.DeadCall = num("DeadCallMsgs(C)")
	st.OutOfCall = num("OutOfCallMsgs(C)")
	// Times are "date<TAB>time<TAB>epoch".
	epoch := func(name string) float64 {
		f := strings.Split(get(name), "\t")
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		return v
	}
	st.Elapsed = epoch("CurrentTime") - epoch("StartTime")
	return nil
}

// readRTT computes percentiles from SIPp's -trace_rtt files in dirs: "Date_ms;response_time_ms;rtd_no".
func readRTT(dirs []string, st *sippStats) {
	var files []string
	for _, dir := range dirs {
		found, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
		files = append(files, found...)
	}
	byRTD := map[string][]float64{}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Split(sc.Text(), ";")
			if len(fs) < 3 {
				continue
			}
			v, err := strconv.ParseFloat(fs[1], 64)
			if err != nil {
				continue
			}
			byRTD[fs[2]] = append(byRTD[fs[2]], v)
		}
		_ = f.Close()
	}
	q := func(rtd string, p float64) float64 {
		s := byRTD[rtd]
		if len(s) == 0 {
			return math.NaN()
		}
		slices.Sort(s)
		i := min(max(int(math.Ceil(p*float64(len(s))))-1, 0), len(s)-1)
		return s[i]
	}
	st.ChallengeP50, st.ChallengeP99 = q("challenge", 0.5), q("challenge", 0.99)
	st.RegisterP50, st.RegisterP99 = q("register", 0.5), q("register", 0.99)
}

// writeUsers writes SIPp's -inf file: user;[authentication ...];domain. SIPp expands
// the keyword inside the field (it does not expand [fieldN] inside [authentication]).
// SIPp reads a password that starts with "0x" as hex (AKA keys): such users (one in
// 3,844 generated passwords) are left out.
func writeUsers(path string, users []user) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	_, _ = fmt.Fprintln(w, "SEQUENTIAL")
	for _, u := range users {
		if strings.ContainsAny(u.Name+u.Password+u.Domain, "; ]\n") {
			_ = f.Close()
			return fmt.Errorf("user %s: name, password or domain holds a character SIPp's -inf file cannot carry", u.Name)
		}
		if strings.HasPrefix(strings.ToLower(u.Password), "0x") {
			step(fmt.Sprintf("  leaving %s out of SIPp's users: SIPp reads its password (0x...) as hex", u.Name))
			continue
		}
		_, _ = fmt.Fprintf(w, "%s;[authentication username=%s password=%s];%s;\n", u.Name, u.Name, u.Password, u.Domain)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
