// The image the chart runs, as `make image` builds it without Docker.

package charts

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// imageConfig is the part of an image's config that a container runtime obeys.
type imageConfig struct {
	Architecture, OS string
	Config           struct {
		User       string
		Entrypoint []string
	}
}

// hack/image.sh gives the image the Dockerfile describes: both programs at the root,
// /operator as the entrypoint, the numeric non-root user (the chart's runAsNonRoot
// refuses a named one it cannot check), a platform (containerd refuses to import an
// image without one), and nothing else: no shell to exec into.
func TestImageMatchesDockerfile(t *testing.T) {
	crane := tool(t, "CRANE", filepath.Join(root, "bin", "crane"), "run make test, or make crane")
	tarball := filepath.Join(t.TempDir(), "image.tar")
	cmd := []string{filepath.Join(root, "hack", "image.sh"), tarball, "registrar-operator.test/image:t", "./cmd/operator", "./cmd/registrar"}
	if _, err := run(nil, "env", append([]string{"CRANE=" + crane}, cmd...)...); err != nil {
		t.Fatal(err)
	}
	config, files := readImage(t, tarball)

	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	user := regexp.MustCompile(`(?m)^USER (\S+)$`).FindStringSubmatch(string(dockerfile))
	entry := regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"\]$`).FindStringSubmatch(string(dockerfile))
	if user == nil || entry == nil {
		t.Fatalf("the Dockerfile has no USER or ENTRYPOINT line this test understands")
	}
	if config.Config.User != user[1] || !regexp.MustCompile(`^[1-9][0-9]*:[0-9]+$`).MatchString(config.Config.User) {
		t.Errorf("user %q, want the Dockerfile's %q, numeric and not root", config.Config.User, user[1])
	}
	if !slices.Equal(config.Config.Entrypoint, []string{entry[1]}) {
		t.Errorf("entrypoint %q, want the Dockerfile's [%q]", config.Config.Entrypoint, entry[1])
	}
	if config.OS != "linux" || config.Architecture == "" {
		t.Errorf("platform %s/%s, want linux and an architecture", config.OS, config.Architecture)
	}
	// The chart runs /operator and the operator runs /registrar in the fleet's pods.
	if !slices.Equal(files, []string{"operator", "registrar"}) {
		t.Errorf("files in the image %q, want exactly operator and registrar (no shell, no tools)", files)
	}
}

// TestDockerfileCopiesWhatTheProgramsImport: `docker build` sees only what the
// Dockerfile copies, so every top-level folder of this module that the two programs
// import must have its COPY line, or the README's Docker path fails to compile.
func TestDockerfileCopiesWhatTheProgramsImport(t *testing.T) {
	module := strings.TrimSpace(mustRun(t, "go", "list", "-m"))
	deps := mustRun(t, "go", "list", "-deps", "-f", "{{.ImportPath}}", "./cmd/operator", "./cmd/registrar")
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	copied := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^COPY (\S+)/ (\S+)/$`).FindAllStringSubmatch(string(dockerfile), -1) {
		if m[1] == m[2] {
			copied[m[1]] = true
		}
	}
	needed := map[string]bool{}
	for _, pkg := range strings.Fields(deps) {
		rest, ok := strings.CutPrefix(pkg, module+"/")
		if !ok {
			continue
		}
		top, _, _ := strings.Cut(rest, "/")
		needed[top] = true
	}
	if len(needed) == 0 {
		t.Fatalf("no package of %s among the programs' dependencies: the listing failed", module)
	}
	for top := range needed {
		if !copied[top] {
			t.Errorf("the programs import %s/%s/..., but the Dockerfile has no `COPY %s/ %s/`", module, top, top, top)
		}
	}
}

// readImage reads a `docker save` style tarball of one image: its config and the
// files of its layers. A regular file without an execute bit fails the test.
func readImage(t *testing.T, tarball string) (imageConfig, []string) {
	t.Helper()
	entries := map[string][]byte{}
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = data
	}
	var manifest []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(entries["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json of %s: %v (%d images)", tarball, err, len(manifest))
	}
	var config imageConfig
	if err := json.Unmarshal(entries[manifest[0].Config], &config); err != nil {
		t.Fatalf("config of %s: %v", tarball, err)
	}
	var files []string
	for _, layer := range manifest[0].Layers {
		gz, err := gzip.NewReader(strings.NewReader(string(entries[layer])))
		if err != nil {
			t.Fatalf("layer %s: %v", layer, err)
		}
		lr := tar.NewReader(gz)
		for {
			h, err := lr.Next()
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("layer %s: %v", layer, err)
			}
			if h.Typeflag != tar.TypeDir {
				files = append(files, path.Clean(strings.TrimPrefix(h.Name, "/")))
			}
			if h.Typeflag == tar.TypeReg && h.Mode&0o111 == 0 {
				t.Errorf("%s in the image is not executable (mode %o)", h.Name, h.Mode)
			}
		}
	}
	slices.Sort(files)
	return config, files
}
