package main

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The tests build the repository's own cmd/manager: the first run compiles it for
// linux/amd64 and linux/arm64 (a few minutes on two cores), later runs take it from
// the Go build cache.

// TestTarballHoldsAStaticNonRootManager writes the image for this machine's
// architecture as `make image` does, reads it back as `docker load` would, and runs
// the manager it holds.
func TestTarballHoldsAStaticNonRootManager(t *testing.T) {
	src := repository(t)
	path := filepath.Join(t.TempDir(), "orgaccess.tar")
	host := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if err := writeTarball(t.Context(), src, []v1.Platform{host}, path, "orgaccess:test"); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag("orgaccess:test")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("the tarball has no image orgaccess:test: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Config.Entrypoint; len(got) != 1 || got[0] != "/manager" {
		t.Errorf("entrypoint %q, want [/manager] (the Deployment's command)", got)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (runAsNonRoot needs a numeric user)", cfg.Config.User)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
	}
	if got := cfg.Config.Labels["org.opencontainers.image.revision"]; got != src.revision {
		t.Errorf("revision label %q, want %q", got, src.revision)
	}
	if !cfg.Created.Equal(src.created) {
		t.Errorf("created %s, want the commit's time %s", cfg.Created.Time, src.created)
	}

	binary := onlyManager(t, img)
	static(t, binary, host)
	// The binary names the commit it was built from (`go version -m`).
	info, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		t.Fatal(err)
	}
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	if got := vcs["vcs.revision"]; got == "" || !strings.HasPrefix(src.revision, got) {
		t.Errorf("the binary records revision %q, want %q", got, src.revision)
	}
	if runtime.GOOS != "linux" {
		return
	}
	manager := filepath.Join(t.TempDir(), "manager")
	if err := os.WriteFile(manager, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	// --help lists the flags and exits 0 without a cluster.
	out, err := exec.CommandContext(t.Context(), manager, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("the image's manager --help: %v\n%s", err, out)
	}
	for _, flag := range []string{"-leader-elect", "-kube-api-qps", "-memory-limit-ratio"} {
		if !bytes.Contains(out, []byte(flag)) {
			t.Errorf("the image's manager --help does not list %s:\n%s", flag, out)
		}
	}
}

// TestImageIsReproducible builds the image twice: the same source gives the same
// digest, whenever and wherever it is built.
func TestImageIsReproducible(t *testing.T) {
	src := repository(t)
	host := []v1.Platform{{OS: "linux", Architecture: runtime.GOARCH}}
	var digests []v1.Hash
	for range 2 {
		images, err := buildImages(t.Context(), src, host)
		if err != nil {
			t.Fatal(err)
		}
		d, err := images[0].Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds of the same source: %s and %s", digests[0], digests[1])
	}
}

// TestPushWritesAMultiPlatformImage pushes as `make image-push` does, to a registry
// served in the test, and pulls each platform back.
func TestPushWritesAMultiPlatformImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the manager for two platforms")
	}
	src := repository(t)
	server := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer server.Close()
	reference := strings.TrimPrefix(server.URL, "http://") + "/orgaccess/manager:test"
	platforms, err := parsePlatforms("linux/amd64,linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	if err := pushIndex(t.Context(), src, platforms, reference); err != nil {
		t.Fatal(err)
	}

	ref, err := name.ParseReference(reference)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatalf("pull the index: %v", err)
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest.Manifests) != len(platforms) {
		t.Fatalf("the index lists %d images, want %d", len(manifest.Manifests), len(platforms))
	}
	for i, p := range platforms {
		desc := manifest.Manifests[i]
		if desc.Platform == nil || !desc.Platform.Equals(p) {
			t.Errorf("image %d is for %v, want %s", i, desc.Platform, p)
			continue
		}
		// What a node of that architecture pulls.
		img, err := remote.Image(ref, remote.WithPlatform(p))
		if err != nil {
			t.Fatalf("pull %s: %v", p, err)
		}
		if d, err := img.Digest(); err != nil || d != desc.Digest {
			t.Errorf("a %s node pulls %s (%v), want %s", p, d, err, desc.Digest)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Architecture != p.Architecture {
			t.Errorf("the %s image's config says %s", p, cfg.Architecture)
		}
		static(t, onlyManager(t, img), p)
	}
}

func TestParsePlatforms(t *testing.T) {
	got, err := parsePlatforms("linux/amd64, linux/arm64")
	if err != nil || len(got) != 2 || got[0].Architecture != "amd64" || got[1].Architecture != "arm64" {
		t.Errorf("linux/amd64, linux/arm64: %v, %v", got, err)
	}
	for _, bad := range []string{"", "windows/amd64", "linux/arm/v7", "linux"} {
		if _, err := parsePlatforms(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestRunNeedsOneOutput(t *testing.T) {
	for _, args := range [][]string{{}, {"-o", "x.tar", "-push", "example.com/x:y"}} {
		if err := run(t.Context(), args); err == nil || !strings.Contains(err.Error(), "one of -o") {
			t.Errorf("%q: %v, want an error asking for one of -o and -push", args, err)
		}
	}
	err := run(t.Context(), []string{"-o", filepath.Join(t.TempDir(), "x.tar"), "-platforms", "linux/amd64,linux/arm64"})
	if err == nil || !strings.Contains(err.Error(), "one platform") {
		t.Errorf("a tarball of two platforms: %v, want an error", err)
	}
}

// repository describes the checkout these tests are in.
func repository(t *testing.T) source {
	t.Helper()
	src, err := readSource(t.Context(), "../..")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// onlyManager returns the image's one file, /manager, failing unless it is the only
// file and executable.
func onlyManager(t *testing.T, img v1.Image) []byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var binary []byte
	var files []string
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, hdr.Name)
			if hdr.Name == "manager" {
				if hdr.Mode&0o111 == 0 || hdr.Uid != 0 {
					t.Errorf("/manager: mode %o, owner %d; want executable, owned by root", hdr.Mode, hdr.Uid)
				}
				if binary, err = io.ReadAll(tr); err != nil {
					t.Fatal(err)
				}
			}
		}
		rc.Close()
	}
	if len(files) != 1 || binary == nil {
		t.Fatalf("the image holds %q, want only manager", files)
	}
	return binary
}

// static fails unless binary is a Linux executable for p that needs no dynamic loader
// or shared library: the image has none.
func static(t *testing.T, binary []byte, p v1.Platform) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatalf("/manager for %s is not an ELF executable: %v", p, err)
	}
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.Architecture]
	if machine != 0 && f.Machine != machine {
		t.Errorf("/manager for %s is built for %s", p, f.Machine)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("/manager for %s needs a dynamic loader", p)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("/manager for %s needs shared libraries %q (%v)", p, libs, err)
	}
}
