package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's one file and the user it runs as: the manifest's Deployment runs the
// command /manager with runAsUser and runAsGroup 65532 (config/manager/manager.yaml),
// the "nonroot" user of distroless images. sourceURL is the source its labels name.
const (
	entrypoint = "/manager"
	nonRoot    = "65532:65532"
	sourceURL  = "https://github.com/orgaccess/orgaccess"
)

// source is the checkout the image is built from.
type source struct {
	dir      string    // the repository's root: cmd/manager is built from there
	revision string    // the commit, with "-dirty" when the tree has changes
	version  string    // `git describe`: the nearest tag, or the short commit
	created  time.Time // the commit's time: the same commit gives the same image
}

// readSource describes the checkout at dir. Outside a git checkout the revision is
// "unknown" and the time the Unix epoch, so the image is still the same for the same
// files.
func readSource(ctx context.Context, dir string) (source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return source{}, err
	}
	if _, err := os.Stat(filepath.Join(abs, "cmd", "manager")); err != nil {
		return source{}, fmt.Errorf("%s is not the orgaccess repository: %w", abs, err)
	}
	src := source{dir: abs, revision: "unknown", version: "dev", created: time.Unix(0, 0).UTC()}
	git := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", abs}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	head, err := git("rev-parse", "HEAD")
	if err != nil {
		return src, nil // not a checkout
	}
	src.revision = head
	if seconds, err := git("log", "-1", "--format=%ct"); err == nil {
		if s, err := strconv.ParseInt(seconds, 10, 64); err == nil {
			src.created = time.Unix(s, 0).UTC()
		}
	}
	if status, err := git("status", "--porcelain", "--untracked-files=no"); err == nil && status != "" {
		src.revision += "-dirty"
	}
	if described, err := git("describe", "--tags", "--always", "--dirty"); err == nil {
		src.version = described
	}
	return src, nil
}

// parsePlatforms parses a comma-separated list of os/arch platforms. The manager is
// built static for Linux only; an ARM variant (linux/arm/v7) is not supported.
func parsePlatforms(list string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, s := range strings.Split(list, ",") {
		p, err := v1.ParsePlatform(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		if p.OS != "linux" || p.Architecture == "" || p.Variant != "" {
			return nil, fmt.Errorf("platform %q: want linux/<GOARCH>, such as linux/amd64 or linux/arm64", s)
		}
		out = append(out, *p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no platform given")
	}
	return out, nil
}

// buildManager builds cmd/manager of src for platform into dir and returns its bytes:
// static (no cgo, so no C library in the image), without local paths or symbol
// tables, and with the commit it was built from (`go version -m`), so the same commit
// and Go version give the same bytes.
func buildManager(ctx context.Context, src source, platform v1.Platform, dir string) ([]byte, error) {
	out := filepath.Join(dir, "manager-"+platform.OS+"-"+platform.Architecture)
	// -buildvcs=auto records the commit even where GOFLAGS turns it off.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=auto", "-ldflags=-s -w", "-o", out, "./cmd/manager")
	cmd.Dir = src.dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+platform.OS, "GOARCH="+platform.Architecture)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/manager for %s: %w\n%s", platform, err, stderr.String())
	}
	return os.ReadFile(out)
}

// managerLayer is a layer holding one file, /manager, owned by root and executable by
// anyone, dated created.
func managerLayer(binary []byte, created time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     strings.TrimPrefix(entrypoint, "/"),
		Mode:     0o555,
		Size:     int64(len(binary)),
		ModTime:  created,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layer)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// managerImage is the OCI image of binary for platform: its one layer, the entrypoint
// /manager, the non-root user, and the OCI labels naming the source and revision.
// Nothing in it depends on when or where it is built: the same binary and source give
// the same digest.
func managerImage(binary []byte, platform v1.Platform, src source) (v1.Image, error) {
	layer, err := managerLayer(binary, src.created)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: src.created}, CreatedBy: "go build -trimpath ./cmd/manager (hack/image)"},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = platform.OS, platform.Architecture
	cfg.Created = v1.Time{Time: src.created}
	cfg.Config = v1.Config{
		Entrypoint: []string{entrypoint},
		User:       nonRoot,
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.title":    "orgaccess",
			"org.opencontainers.image.source":   sourceURL,
			"org.opencontainers.image.revision": src.revision,
			"org.opencontainers.image.version":  src.version,
		},
	}
	return mutate.ConfigFile(img, cfg)
}

// managerIndex is the multi-platform index of images, the image of platforms[i] at i.
func managerIndex(images []v1.Image, platforms []v1.Platform) v1.ImageIndex {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, p := range platforms {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        images[i],
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return idx
}

// buildImages builds the manager and its image for each platform, in the platforms'
// order. The images hold the binaries in memory, so the directory they were built in
// is removed before it returns.
func buildImages(ctx context.Context, src source, platforms []v1.Platform) (_ []v1.Image, err error) {
	dir, err := os.MkdirTemp("", "orgaccess-image-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
			err = rmErr
		}
	}()
	images := make([]v1.Image, len(platforms))
	for i, p := range platforms {
		binary, err := buildManager(ctx, src, p, dir)
		if err != nil {
			return nil, err
		}
		if images[i], err = managerImage(binary, p, src); err != nil {
			return nil, fmt.Errorf("image for %s: %w", p, err)
		}
	}
	return images, nil
}
