package imagebuild

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// writeArchive writes img, tagged repoTag (waddle:v1.2.3), to path as one
// tar that is both an OCI image layout (oci-layout, index.json, blobs/) and
// a `docker save` archive (manifest.json naming the same blobs): the format
// `docker save` itself writes since Docker 25. So `docker load -i`,
// `podman load -i` and `skopeo copy oci-archive:PATH …` all read it.
// Entries come in a fixed order with a fixed time, so equal images give
// equal files.
func writeArchive(path, repoTag string, img v1.Image) error {
	entries, err := archiveEntries(repoTag, img)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".waddle-image-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	tw := tar.NewWriter(tmp)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.data)),
			ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR}
		if strings.HasSuffix(e.name, "/") {
			h.Mode, h.Typeflag, h.Size = 0o755, tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			tmp.Close()
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

type entry struct {
	name string
	data []byte
}

// archiveEntries are the archive's files in the order written.
func archiveEntries(repoTag string, img v1.Image) ([]entry, error) {
	cfg, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	blob := func(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
	entries := []entry{{name: "blobs/"}, {name: "blobs/sha256/"}, {name: blob(cfgName), data: cfg}}
	var layerPaths []string
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		r, err := l.Compressed()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("read layer %s: %w", d, err)
		}
		entries = append(entries, entry{name: blob(d), data: b})
		layerPaths = append(layerPaths, blob(d))
	}
	entries = append(entries, entry{name: blob(digest), data: manifest})

	_, tag, _ := strings.Cut(repoTag, ":")
	index, err := json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: types.OCIManifestSchema1,
			Digest:    digest,
			Size:      int64(len(manifest)),
			Annotations: map[string]string{
				"io.containerd.image.name":          "docker.io/library/" + repoTag,
				"org.opencontainers.image.ref.name": tag,
			},
		}},
	})
	if err != nil {
		return nil, err
	}
	dockerManifest, err := json.Marshal(tarball.Manifest{{
		Config:   blob(cfgName),
		RepoTags: []string{repoTag},
		Layers:   layerPaths,
	}})
	if err != nil {
		return nil, err
	}
	return append(entries,
		entry{name: "index.json", data: index},
		entry{name: "manifest.json", data: dockerManifest},
		entry{name: "oci-layout", data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
	), nil
}
