// Command dist builds the release: one archive per plugin and platform, checksums, and the
// krew manifests rendered from krew/*.yaml with each archive's URI and sha256.
//
// Every archive holds the same multi-call binary (cmd/kubectl-mesh) under the plugin's name,
// which it acts as: one build per platform instead of four.
//
//	go run ./hack/dist -version v0.2.0 -out dist
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"
)

// Platform is one os/arch the release supports.
type Platform struct {
	OS, Arch string
	release  *release
}

// Ext is ".exe" on Windows.
func (p Platform) Ext() string {
	if p.OS == "windows" {
		return ".exe"
	}
	return ""
}

func (p Platform) archive(plugin string) string {
	ext := ".tar.gz"
	if p.OS == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("%s_%s_%s_%s%s", binaryOf(plugin), p.release.version, p.OS, p.Arch, ext)
}

// URI is where the release publishes plugin's archive for this platform.
func (p Platform) URI(plugin string) string {
	return p.release.baseURL + "/" + p.archive(plugin)
}

// SHA256 is the archive's checksum, as krew verifies it.
func (p Platform) SHA256(plugin string) string { return p.release.sums[p.archive(plugin)] }

var platforms = [][2]string{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

const completionScript = `#!/bin/sh
# kubectl runs this for shell completion of kubectl mesh: the plugin answers it itself.
exec kubectl mesh __complete "$@"
`

var plugins = []string{"mesh", "mesh-canary", "mesh-lockdown", "mesh-graph", "mesh-traces", "mesh-doctor", "mesh-why", "mesh-what-if"}

// binaryOf is the executable kubectl looks for: plugin mesh-canary is kubectl-mesh_canary.
func binaryOf(plugin string) string { return "kubectl-" + strings.ReplaceAll(plugin, "-", "_") }

type release struct {
	version, commit, baseURL, out, root string
	sums                                map[string]string
}

func main() {
	r := &release{sums: map[string]string{}}
	flag.StringVar(&r.version, "version", "", "release version, a semantic version with a v prefix (required)")
	flag.StringVar(&r.commit, "commit", "unknown", "commit stamped into the binaries")
	flag.StringVar(&r.baseURL, "base-url", "", "where the archives are published (default: the GitHub release of -version)")
	flag.StringVar(&r.out, "out", "dist", "output folder")
	only := flag.String("platforms", "", "comma-separated os/arch subset to build (default: all)")
	flag.Parse()
	if err := r.run(*only); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
}

func (r *release) run(only string) error {
	if !strings.HasPrefix(r.version, "v") {
		return fmt.Errorf("-version %q: want a semantic version with a v prefix, e.g. v0.2.0", r.version)
	}
	if r.baseURL == "" {
		r.baseURL = "https://github.com/kubectl-mesh/kubectl-mesh/releases/download/" + r.version
	}
	var err error
	if r.root, err = os.Getwd(); err != nil {
		return err
	}
	license, err := os.ReadFile(filepath.Join(r.root, "LICENSE"))
	if err != nil {
		return fmt.Errorf("every archive carries the LICENSE: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(r.out, "krew"), 0o755); err != nil {
		return err
	}
	var selected []Platform
	for _, p := range platforms {
		if only == "" || strings.Contains(","+only+",", ","+p[0]+"/"+p[1]+",") {
			selected = append(selected, Platform{OS: p[0], Arch: p[1], release: r})
		}
	}
	if len(selected) == 0 {
		return fmt.Errorf("-platforms %q selects none of the supported platforms", only)
	}
	for _, p := range selected {
		start := time.Now()
		binary, err := r.build(p)
		if err != nil {
			return err
		}
		for _, plugin := range plugins {
			files := map[string][]byte{binaryOf(plugin) + p.Ext(): binary, "LICENSE": license}
			if plugin == "mesh" {
				// kubectl runs kubectl_complete-mesh for shell completion of `kubectl mesh`:
				// a two-line script where there is a shell, the binary itself on Windows.
				if p.OS == "windows" {
					files["kubectl_complete-mesh.exe"] = binary
				} else {
					files["kubectl_complete-mesh"] = []byte(completionScript)
				}
			}
			if err := r.writeArchive(p.archive(plugin), p.OS == "windows", files); err != nil {
				return err
			}
		}
		fmt.Printf("%s/%s: %d MB binary, built and archived in %.0fs\n", p.OS, p.Arch, len(binary)>>20, time.Since(start).Seconds())
	}
	if err := r.writeChecksums(); err != nil {
		return err
	}
	for _, plugin := range plugins {
		if err := r.renderManifest(plugin, selected); err != nil {
			return err
		}
	}
	return nil
}

func (r *release) build(p Platform) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "kubectl-mesh-dist-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "kubectl-mesh"+p.Ext())
	ldflags := fmt.Sprintf("-s -w -X github.com/kubectl-mesh/kubectl-mesh/pkg/version.version=%s -X github.com/kubectl-mesh/kubectl-mesh/pkg/version.commit=%s", r.version, r.commit)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, "./cmd/kubectl-mesh")
	cmd.Dir = r.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building for %s/%s: %w", p.OS, p.Arch, err)
	}
	return os.ReadFile(out)
}

// writeArchive writes files (name -> content; executables are everything but LICENSE) as a
// .tar.gz, or a .zip for Windows, and records its checksum.
func (r *release) writeArchive(name string, asZip bool, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	// A fixed time keeps archives of the same build byte-identical.
	modTime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if asZip {
		zw := zip.NewWriter(&buf)
		for _, n := range names {
			h := &zip.FileHeader{Name: n, Method: zip.Deflate, Modified: modTime}
			h.SetMode(fileMode(n))
			w, err := zw.CreateHeader(h)
			if err != nil {
				return err
			}
			if _, err := w.Write(files[n]); err != nil {
				return err
			}
		}
		if err := zw.Close(); err != nil {
			return err
		}
	} else {
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for _, n := range names {
			h := &tar.Header{Name: n, Mode: int64(fileMode(n)), Size: int64(len(files[n])), ModTime: modTime, Typeflag: tar.TypeReg}
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			if _, err := tw.Write(files[n]); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return err
		}
	}
	sum := sha256.Sum256(buf.Bytes())
	r.sums[name] = hex.EncodeToString(sum[:])
	return os.WriteFile(filepath.Join(r.out, name), buf.Bytes(), 0o644)
}

func fileMode(name string) os.FileMode {
	if name == "LICENSE" {
		return 0o644
	}
	return 0o755
}

func (r *release) writeChecksums() error {
	names := make([]string, 0, len(r.sums))
	for n := range r.sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", r.sums[n], n) // sha256sum -c reads this format
	}
	return os.WriteFile(filepath.Join(r.out, "checksums.txt"), []byte(b.String()), 0o644)
}

func (r *release) renderManifest(plugin string, selected []Platform) error {
	src := filepath.Join(r.root, "krew", plugin+".yaml")
	tmpl, err := template.New(filepath.Base(src)).Option("missingkey=error").ParseFiles(src)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	data := struct {
		Version   string
		Platforms []Platform
	}{r.version, selected}
	if err := tmpl.Execute(&b, data); err != nil {
		return fmt.Errorf("rendering %s: %w", src, err)
	}
	// The template's own header comment is for maintainers, not for the rendered manifest.
	rendered := b.String()
	if strings.HasPrefix(rendered, "#") {
		rendered = rendered[strings.Index(rendered, "\n")+1:]
	}
	return os.WriteFile(filepath.Join(r.out, "krew", plugin+".yaml"), []byte(rendered), 0o644)
}
