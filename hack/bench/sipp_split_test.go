package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSplitUsersGivesEveryDeviceOneProcess checks that a split over n SIPp processes
// keeps SIPp's order line in every file and each device in exactly one of them,
// the same one for any run of the same n: a device that moved would register a
// second contact.
func TestSplitUsersGivesEveryDeviceOneProcess(t *testing.T) {
	dir := t.TempDir()
	all := filepath.Join(dir, "users.csv")
	var devices []string
	for i := range 10 {
		devices = append(devices, "u"+string(rune('0'+i))+";[authentication username=u password=p];d;")
	}
	if err := os.WriteFile(all, []byte("SEQUENTIAL\n"+strings.Join(devices, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := splitUsers(all, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("%d files, want 3", len(files))
	}
	var seen []string
	for k, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if lines[0] != "SEQUENTIAL" {
			t.Errorf("file %d starts with %q, want SIPp's order line", k, lines[0])
		}
		for _, l := range lines[1:] {
			if i := slices.Index(devices, l); i%3 != k {
				t.Errorf("device %q (line %d) is in file %d, want %d", l, i, k, i%3)
			}
			seen = append(seen, l)
		}
	}
	slices.Sort(seen)
	if !slices.Equal(seen, devices) {
		t.Errorf("devices after the split: %v, want each of %v once", seen, devices)
	}
	if one, _ := splitUsers(all, 1); !slices.Equal(one, []string{all}) {
		t.Errorf("a split over one process: %v, want the file itself", one)
	}
}

func TestShareAddsUpToTheTotal(t *testing.T) {
	for _, c := range []struct{ total, n int }{{300000, 4}, {7, 3}, {2, 4}, {100, 1}} {
		sum := 0
		for k := range c.n {
			sum += share(c.total, c.n, k)
		}
		if sum != c.total {
			t.Errorf("shares of %d over %d add up to %d", c.total, c.n, sum)
		}
	}
}
