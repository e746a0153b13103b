package imagebuild

import (
	"bytes"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image runs. The Dockerfile declares the same (a test compares).
var (
	Entrypoint = []string{"/waddle"}
	Cmd        = []string{"serve"}
	// Env: in a container, loopback is the container's own, so the server
	// must listen on all addresses for a published port to reach it.
	Env          = []string{"LISTEN_ADDR=0.0.0.0:8080"}
	ExposedPort  = "8080/tcp"
	Healthcheck  = []string{"CMD", "/waddle", "healthcheck"}
	HealthConfig = v1.HealthConfig{
		Test:        Healthcheck,
		Interval:    10 * time.Second,
		Timeout:     3 * time.Second,
		StartPeriod: 10 * time.Second,
		Retries:     3,
	}
)

// Labels are the image's OCI annotations for o.
func Labels(o Options) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "waddle",
		"org.opencontainers.image.description": "Waddle: a self-hosted community bot platform (hub, API, chat bots, overlays and workflows in one binary)",
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.revision":    o.Commit,
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.source":      o.Source,
		"org.opencontainers.image.licenses":    o.License,
	}
}

// image assembles the one-layer OCI image of files.
func image(o Options, files []file) (v1.Image, error) {
	raw, err := layerTar(files, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	created := v1.Time{Time: o.Created}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   created,
			CreatedBy: "go run ./deploy/image",
			Comment:   "waddle " + o.Version + ", CA certificates, passwd, /tmp",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = o.Arch, "linux", created
	health := HealthConfig
	cf.Config = v1.Config{
		User:         User,
		Entrypoint:   Entrypoint,
		Cmd:          Cmd,
		Env:          Env,
		ExposedPorts: map[string]struct{}{ExposedPort: {}},
		Healthcheck:  &health,
		Labels:       Labels(o),
		WorkingDir:   "/",
		StopSignal:   "SIGTERM",
	}
	return mutate.ConfigFile(img, cf)
}
