// Command image builds orgaccess's container image without a container engine: the
// manager, built static for each platform, is the one file of a one-layer OCI image
// that runs as a non-root user (docs/operations.md, Building the image). It writes a
// tarball that `docker load` and `podman load` read, or pushes a multi-platform image
// to a registry with the credentials of `docker login` (~/.docker/config.json).
//
//	make image                                   # bin/orgaccess-image.tar, tagged orgaccess:dev, this machine's architecture
//	make image-push IMG=registry.example/orgaccess:v0.1.0   # linux/amd64 and linux/arm64
//
// It is a module of its own, so that the operator's go.mod does not take the registry
// client's dependencies.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	sourceDir := fs.String("source", "../..", "the orgaccess repository to build cmd/manager from")
	out := fs.String("o", "", "write the image for one platform to this tarball (docker load -i, podman load -i)")
	tag := fs.String("tag", "orgaccess:dev", "the tarball's image name and tag")
	push := fs.String("push", "", "push a multi-platform image to this reference (registry/repository:tag)")
	platforms := fs.String("platforms", "", "comma-separated linux/<GOARCH> platforms (default: linux/"+runtime.GOARCH+" for -o, linux/amd64,linux/arm64 for -push)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*out == "") == (*push == "") {
		return errors.New("give one of -o <tarball> and -push <reference>")
	}
	if *platforms == "" {
		*platforms = "linux/" + runtime.GOARCH
		if *push != "" {
			*platforms = "linux/amd64,linux/arm64"
		}
	}
	list, err := parsePlatforms(*platforms)
	if err != nil {
		return err
	}
	src, err := readSource(ctx, *sourceDir)
	if err != nil {
		return err
	}
	if *out != "" {
		return writeTarball(ctx, src, list, *out, *tag)
	}
	return pushIndex(ctx, src, list, *push, remote.WithAuthFromKeychain(authn.DefaultKeychain))
}

// writeTarball writes the image of the one platform in platforms to path, tagged tag.
func writeTarball(ctx context.Context, src source, platforms []v1.Platform, path, tag string) error {
	if len(platforms) != 1 {
		return fmt.Errorf("a tarball holds one platform, and %d were given: push a multi-platform image with -push", len(platforms))
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("-tag: %w", err)
	}
	images, err := buildImages(ctx, src, platforms)
	if err != nil {
		return err
	}
	img := images[0]
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %s %s (%s), revision %s\n", path, ref, digest, platforms[0], src.revision)
	return nil
}

// pushIndex pushes the multi-platform image of platforms to reference.
func pushIndex(ctx context.Context, src source, platforms []v1.Platform, reference string, opts ...remote.Option) error {
	ref, err := name.ParseReference(reference)
	if err != nil {
		return fmt.Errorf("-push: %w", err)
	}
	images, err := buildImages(ctx, src, platforms)
	if err != nil {
		return err
	}
	idx := managerIndex(images, platforms)
	if err := remote.WriteIndex(ref, idx, append(opts, remote.WithContext(ctx))...); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("pushed %s@%s (%d platforms), revision %s\n", ref.Context(), digest, len(platforms), src.revision)
	return nil
}
