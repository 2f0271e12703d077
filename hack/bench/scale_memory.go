package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// heapProfile saves a process's heap profile when it serves pprof (url not empty),
// after a garbage collection (gc=1): what it shows is live, not the garbage the
// last cycle left.
func heapProfile(url, who, path string) {
	if url == "" {
		return
	}
	if err := download(context.Background(), url+"/heap?gc=1", path); err != nil {
		step("    (no " + who + " heap profile: " + err.Error() + ")")
		return
	}
	step(who + " heap profile: " + path)
}

// memory adds the registrar's and the operator's memory, and the operator's per
// Extension: what its chart's memory limit is sized by.
func memory(sys *system, when string, extensions int, add func(name, value, target string)) {
	heap := func(url string) float64 {
		p, err := scrape(url)
		if err != nil {
			return 0
		}
		return p.sum("go_memstats_heap_inuse_bytes")
	}
	reg, op := sys.registrar.pid(), sys.operator.pid()
	add("registrar memory "+when+": RSS / peak RSS (VmHWM) / Go heap in use, MB",
		fmt.Sprintf("%.0f / %.0f / %.0f", procStatusKB(reg, "VmRSS:")/1024, procStatusKB(reg, "VmHWM:")/1024, heap(sys.regMetrics)/(1<<20)), "< 300 MB at 100k")
	opRSS, opHeap := procStatusKB(op, "VmRSS:")*1024, heap(sys.opMetrics)
	add("operator memory "+when+": RSS / peak RSS (VmHWM) / Go heap in use, MB",
		fmt.Sprintf("%.0f / %.0f / %.0f", opRSS/(1<<20), procStatusKB(op, "VmHWM:")/1024, opHeap/(1<<20)), "")
	add("operator memory per Extension "+when+": RSS / Go heap in use, KB",
		fmt.Sprintf("%.1f / %.1f", opRSS/float64(extensions)/1000, opHeap/float64(extensions)/1000), "RSS <= 3 KB at 100k")
	var cp float64
	for _, p := range sys.controlPlanePIDs() {
		cp += procStatusKB(p, "VmRSS:") / 1024
	}
	add("kube-apiserver + etcd RSS "+when+", MB", fmt.Sprintf("%.0f", cp), "")
}

// createOtherSecrets creates o.otherSecrets Secrets of o.otherSecretKB KiB that
// no Extension names, so that the operator's memory shows what the rest of a
// cluster's Secrets cost it.
func createOtherSecrets(ctx context.Context, sys *system, o scaleOptions) error {
	if o.otherSecrets == 0 {
		return nil
	}
	const ns = "bench-others"
	if err := client.IgnoreAlreadyExists(sys.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})); err != nil {
		return err
	}
	payload := make([]byte, o.otherSecretKB<<10)
	return parallel(ctx, o.otherSecrets, o.workers, func(ctx context.Context, i int) error {
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("sh.helm.release.v1.app%d.v1", i)},
			Data: map[string][]byte{"release": payload}}
		return client.IgnoreAlreadyExists(sys.client.Create(ctx, sec))
	})
}

// liveHeap adds a process's live heap, when it serves pprof (url not empty): its
// HeapAlloc right after the garbage collection that gc=1 asks for, from the heap
// profile's text form. It is what the process's memory comes to under a tight soft
// limit; RSS without one is about twice it.
func liveHeap(url, who string, extensions int, add func(name, value, target string)) {
	if url == "" {
		return
	}
	c := http.Client{Timeout: 2 * time.Minute}
	resp, err := c.Get(url + "/heap?gc=1&debug=1")
	if err != nil {
		step("    (no " + who + " live heap: " + err.Error() + ")")
		return
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = ")
		if !ok {
			continue
		}
		b, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			break
		}
		add(who+" live heap (HeapAlloc after a collection): MB / KB per Extension",
			fmt.Sprintf("%.0f / %.2f", b/(1<<20), b/float64(extensions)/1000), "")
		return
	}
	step("    (no " + who + " live heap: no HeapAlloc in its heap profile)")
}
