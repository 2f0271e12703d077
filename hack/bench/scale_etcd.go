package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// etcdGroup is what one kind of object occupies in etcd: how many keys and the bytes
// of their keys and values at the current revision (what a compacted, defragmented
// etcd holds; the history kept until the next compaction comes on top).
type etcdGroup struct {
	name        string
	keys        int
	keyBytes    int64
	valueBytes  int64
	largestItem int64
}

// etcdFootprint reads every key etcd holds for the cluster, through etcd's own
// JSON gateway (no client library), and adds per kind of object the count and the
// bytes stored, and per Extension the bytes of everything an Extension brings
// (itself, its credential Secret, its password Secret): the inputs docs/scaling.md
// projects from.
func etcdFootprint(ctx context.Context, sys *system, when string, extensions int, add func(name, value, target string)) {
	groups, dbInUse, err := readEtcd(ctx, sys.etcdURL())
	if err != nil {
		step("    (no etcd footprint " + when + ": " + err.Error() + ")")
		return
	}
	var total int64
	for _, g := range groups {
		b := g.keyBytes + g.valueBytes
		total += b
		add(fmt.Sprintf("etcd %s: %s keys, bytes each (mean / largest)", when, g.name),
			fmt.Sprintf("%d, %.0f / %d", g.keys, float64(b)/float64(max(g.keys, 1)), g.largestItem), "")
	}
	perExtension := int64(0)
	for _, g := range groups {
		switch g.name {
		case "sip.voipbin.net/extensions", "secrets/" + registrarNS, "secrets/" + benchNS:
			perExtension += g.keyBytes + g.valueBytes
		}
	}
	add("etcd "+when+": live keys and values, MB / db in use (history included), MB",
		fmt.Sprintf("%.1f / %.1f", float64(total)/1e6, dbInUse/1e6), "")
	add("etcd "+when+": bytes per Extension (Extension + credential Secret + password Secret)",
		fmt.Sprintf("%.0f", float64(perExtension)/float64(max(extensions, 1))), "")
}

// operatorWritesPerExtension adds the operator's API writes so far (the bulk load:
// finalizers, Secrets, statuses, Domain counts) per Extension.
func operatorWritesPerExtension(sys *system, extensions int, add func(name, value, target string)) {
	op, err := scrape(sys.opMetrics)
	if err != nil {
		return
	}
	var writes float64
	for _, m := range httpWriteMethods {
		writes += op.sum("rest_client_requests_total", `method="`+m+`"`)
	}
	add("operator API writes during the bulk load, per Extension", fmt.Sprintf("%.2f", writes/float64(max(extensions, 1))), "")
}

// httpWriteMethods are the methods of client-go's writes (rest_client_requests_total).
var httpWriteMethods = []string{"POST", "PUT", "PATCH", "DELETE"}

// etcdURL is the test control plane's etcd client address.
func (s *system) etcdURL() string {
	if s.env == nil || s.env.ControlPlane.Etcd == nil || s.env.ControlPlane.Etcd.URL == nil {
		return ""
	}
	return s.env.ControlPlane.Etcd.URL.String()
}

// readEtcd pages through every key under /registry, grouping them by resource (and
// namespace for Secrets, ConfigMaps and Events), and reads etcd's database size in use.
func readEtcd(ctx context.Context, base string) ([]etcdGroup, float64, error) {
	if base == "" {
		return nil, 0, fmt.Errorf("the control plane's etcd address is unknown")
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	byName := map[string]*etcdGroup{}
	start, end := []byte("/registry/"), []byte("/registry0") // '0' follows '/'
	for {
		page, more, err := etcdRange(ctx, hc, base, start, end, 2000)
		if err != nil {
			return nil, 0, err
		}
		for _, kv := range page {
			name := etcdGroupName(string(kv.key))
			g := byName[name]
			if g == nil {
				g = &etcdGroup{name: name}
				byName[name] = g
			}
			g.keys++
			g.keyBytes += int64(len(kv.key))
			g.valueBytes += int64(kv.valueLen)
			g.largestItem = max(g.largestItem, int64(len(kv.key)+kv.valueLen))
		}
		if !more || len(page) == 0 {
			break
		}
		start = append([]byte(string(page[len(page)-1].key)), 0)
	}
	groups := make([]etcdGroup, 0, len(byName))
	for _, g := range byName {
		groups = append(groups, *g)
	}
	slices.SortFunc(groups, func(a, b etcdGroup) int {
		return cmp.Compare(b.keyBytes+b.valueBytes, a.keyBytes+a.valueBytes)
	})
	p, err := scrape(strings.TrimSuffix(base, "/") + "/metrics")
	if err != nil {
		return groups, 0, fmt.Errorf("while reading etcd's metrics: %w", err)
	}
	return groups, p.sum("etcd_mvcc_db_total_size_in_use_in_bytes"), nil
}

// etcdGroupName names a key's group: /registry/secrets/ns/name → secrets/ns;
// /registry/sip.voipbin.net/extensions/ns/name → sip.voipbin.net/extensions.
func etcdGroupName(key string) string {
	parts := strings.Split(strings.TrimPrefix(key, "/registry/"), "/")
	switch {
	case len(parts) >= 3 && (parts[0] == "secrets" || parts[0] == "configmaps" || parts[0] == "events"):
		return parts[0] + "/" + parts[1]
	case len(parts) >= 2 && strings.Contains(parts[0], "."):
		return parts[0] + "/" + parts[1]
	default:
		return parts[0]
	}
}

type etcdKV struct {
	key      []byte
	valueLen int
}

// etcdRange is one page of etcd's KV range over its JSON gateway (/v3/kv/range).
func etcdRange(ctx context.Context, hc *http.Client, base string, start, end []byte, limit int) ([]etcdKV, bool, error) {
	body, _ := json.Marshal(map[string]any{
		"key":       base64.StdEncoding.EncodeToString(start),
		"range_end": base64.StdEncoding.EncodeToString(end),
		"limit":     strconv.Itoa(limit),
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/v3/kv/range", bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("while reading etcd's keys: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("etcd's range answered %s", res.Status)
	}
	var out struct {
		KVs []struct {
			Key   []byte `json:"key"`   // base64 in JSON, decoded by encoding/json
			Value []byte `json:"value"` // likewise
		} `json:"kvs"`
		More bool `json:"more"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return nil, false, fmt.Errorf("while decoding etcd's range: %w", err)
	}
	page := make([]etcdKV, len(out.KVs))
	for i, kv := range out.KVs {
		page[i] = etcdKV{key: kv.Key, valueLen: len(kv.Value)}
	}
	return page, out.More, nil
}
