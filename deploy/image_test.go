package deploy

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	imagebuild "github.com/waddle/waddle/deploy/image/build"
)

// The image the tests build: for this machine's architecture, so its
// binary runs here too.
var testImage = imagebuild.Options{
	Dir:     "..",
	Arch:    runtime.GOARCH,
	Version: "v0.0.0-test.1",
	Commit:  "0123456789abcdef0123456789abcdef01234567",
	Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
}

// maxImageBytes is the bound on the compressed image.
const maxImageBytes = 40 << 20

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

// mustBuildImage builds testImage once for all tests and returns the
// archive's path.
func mustBuildImage(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		o := testImage
		o.Output = filepath.Join(testDir, "a", "waddle-image.tar")
		buildErr = imagebuild.Build(t.Context(), o)
		builtPath = o.Output
	})
	if buildErr != nil {
		t.Fatalf("build image: %v", buildErr)
	}
	return builtPath
}

// testDir outlives single tests: the image is shared by them.
var testDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "waddle-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// mustOpenImage opens the archive the way `docker load` reads it: by
// manifest.json and the tag.
func mustOpenImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := tarball.ImageFromPath(mustBuildImage(t), nil)
	if err != nil {
		t.Fatalf("open image archive: %v", err)
	}
	return img
}

func TestImageConfig(t *testing.T) {
	t.Parallel()
	cf, err := mustOpenImage(t).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform = %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user = %q, want 65532:65532 (not root)", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/waddle"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("entrypoint %q cmd %q, want [/waddle] [serve]", c.Entrypoint, c.Cmd)
	}
	if !slices.Contains(c.Env, "LISTEN_ADDR=0.0.0.0:8080") {
		t.Errorf("env = %q, want LISTEN_ADDR=0.0.0.0:8080", c.Env)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("exposed ports = %v, want 8080/tcp", c.ExposedPorts)
	}
	wantHealth := &v1.HealthConfig{Test: []string{"CMD", "/waddle", "healthcheck"}, Interval: 10 * time.Second,
		Timeout: 3 * time.Second, StartPeriod: 10 * time.Second, Retries: 3}
	if diff := cmp.Diff(wantHealth, c.Healthcheck); diff != "" {
		t.Errorf("healthcheck (-want +got):\n%s", diff)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":       "waddle",
		"org.opencontainers.image.version":     testImage.Version,
		"org.opencontainers.image.revision":    testImage.Commit,
		"org.opencontainers.image.created":     "2026-01-02T03:04:05Z",
		"org.opencontainers.image.source":      imagebuild.DefaultSource,
		"org.opencontainers.image.licenses":    "NOASSERTION",
		"org.opencontainers.image.description": c.Labels["org.opencontainers.image.description"],
	}
	if diff := cmp.Diff(wantLabels, c.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if !strings.Contains(c.Labels["org.opencontainers.image.description"], "community bot platform") {
		t.Errorf("description label = %q", c.Labels["org.opencontainers.image.description"])
	}
	if !cf.Created.Equal(testImage.Created) {
		t.Errorf("created = %v, want the commit time %v (not the clock)", cf.Created, testImage.Created)
	}
}

// imageFile is one entry of the image's layer.
type imageFile struct {
	hdr  *tar.Header
	data []byte
}

var (
	layerOnce  sync.Once
	layerFiles map[string]imageFile
	layerErr   error
)

// mustReadLayer returns the files of the image's only layer, read once.
func mustReadLayer(t *testing.T) map[string]imageFile {
	t.Helper()
	img := mustOpenImage(t)
	layerOnce.Do(func() { layerFiles, layerErr = readLayer(img) })
	if layerErr != nil {
		t.Fatalf("read layer: %v", layerErr)
	}
	return layerFiles
}

func readLayer(img v1.Image) (map[string]imageFile, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) != 1 {
		return nil, fmt.Errorf("%d layers, want one", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	files := map[string]imageFile{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[strings.TrimSuffix(h.Name, "/")] = imageFile{h, data}
	}
}

func TestImageFiles(t *testing.T) {
	t.Parallel()
	files := mustReadLayer(t)
	var names []string
	for name, f := range files {
		names = append(names, name)
		if f.hdr.Uid != 0 || f.hdr.Gid != 0 || !f.hdr.ModTime.Equal(testImage.Created) {
			t.Errorf("%s: owner %d:%d mtime %v, want root and the commit time", name, f.hdr.Uid, f.hdr.Gid, f.hdr.ModTime)
		}
		switch path.Base(name) {
		case "sh", "bash", "ash", "dash", "zsh", "busybox", "nologin":
			t.Errorf("the image holds %s: it must have no shell", name)
		}
	}
	slices.Sort(names)
	want := []string{"etc", "etc/group", "etc/passwd", "etc/ssl", "etc/ssl/certs",
		"etc/ssl/certs/ca-certificates.crt", "tmp", "waddle"}
	if !slices.Equal(names, want) {
		t.Errorf("files = %q, want exactly %q (no shell, no package manager)", names, want)
	}

	w := files["waddle"]
	if w.hdr.Typeflag != tar.TypeReg || w.hdr.Mode != 0o755 {
		t.Errorf("/waddle: type %c mode %o, want a regular file 0755", w.hdr.Typeflag, w.hdr.Mode)
	}
	checkStaticELF(t, w.data)
	// time/tzdata (the timetzdata tag) carries the zone database in the
	// binary, so zone names resolve without /usr/share/zoneinfo.
	if !bytes.Contains(w.data, []byte("America/New_York")) || !bytes.Contains(w.data, []byte("Europe/Berlin")) {
		t.Error("/waddle holds no time-zone database")
	}

	if tmp := files["tmp"]; tmp.hdr.Typeflag != tar.TypeDir || tmp.hdr.Mode != 0o1777 {
		t.Errorf("/tmp: type %c mode %o, want a directory 1777", tmp.hdr.Typeflag, tmp.hdr.Mode)
	}
	hostCA, err := os.ReadFile(imagebuild.DefaultCACerts)
	if err != nil {
		t.Fatal(err)
	}
	if ca := files["etc/ssl/certs/ca-certificates.crt"]; !bytes.Equal(ca.data, hostCA) || ca.hdr.Mode != 0o644 {
		t.Errorf("CA bundle: %d bytes mode %o, want the host's %d bytes 0644", len(ca.data), ca.hdr.Mode, len(hostCA))
	}
	if !slices.Contains(strings.Split(string(files["etc/passwd"].data), "\n"), "waddle:x:65532:65532:waddle:/nonexistent:/sbin/nologin") {
		t.Errorf("/etc/passwd = %q, want the waddle user 65532", files["etc/passwd"].data)
	}
	if !slices.Contains(strings.Split(string(files["etc/group"].data), "\n"), "waddle:x:65532:") {
		t.Errorf("/etc/group = %q, want the waddle group 65532", files["etc/group"].data)
	}
}

// checkStaticELF fails unless b is an executable for testImage.Arch with
// no dynamic loader (PT_INTERP) and no shared libraries.
func checkStaticELF(t *testing.T, b []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("/waddle is not ELF: %v", err)
	}
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[testImage.Arch]
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("/waddle: machine %v type %v, want %v executable", f.Machine, f.Type, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("/waddle has a %v program header: not static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("/waddle needs shared libraries %q", libs)
	}
	if f.Section(".symtab") != nil {
		t.Error("/waddle has a symbol table: want it stripped (-s -w)")
	}
}

func TestImageSize(t *testing.T) {
	t.Parallel()
	layers, err := mustOpenImage(t).Layers()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, l := range layers {
		size, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		total += size
	}
	st, err := os.Stat(mustBuildImage(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image: compressed layers %.1f MB, archive %.1f MB", float64(total)/1e6, float64(st.Size())/1e6)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("archive mode %v, want 0644 (readable by whoever loads it)", st.Mode().Perm())
	}
	if total >= maxImageBytes || st.Size() >= maxImageBytes {
		t.Errorf("image is %d bytes compressed (archive %d), want under 40 MB", total, st.Size())
	}
}

// TestImageOCILayout reads the same archive as an OCI image layout (what
// skopeo's oci-archive: and podman read): one image, tagged with the
// version, the same config and layer as manifest.json names.
func TestImageOCILayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	untar(t, mustBuildImage(t), dir)
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("open OCI layout: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1", len(im.Manifests))
	}
	d := im.Manifests[0]
	if d.Annotations["org.opencontainers.image.ref.name"] != testImage.Version ||
		d.Annotations["io.containerd.image.name"] != "docker.io/library/waddle:"+testImage.Version {
		t.Errorf("index annotations = %v, want the tag %s", d.Annotations, testImage.Version)
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	mt, _ := img.MediaType()
	if mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type = %s, want OCI", mt)
	}
	if err := validate.Image(img); err != nil { // every blob hashes to its digest
		t.Errorf("OCI image: %v", err)
	}
	ociCfg, _ := img.ConfigName()
	dockerCfg, _ := mustOpenImage(t).ConfigName()
	if ociCfg != dockerCfg {
		t.Errorf("config in index.json %s, in manifest.json %s: want one image", ociCfg, dockerCfg)
	}
}

func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImageReproducible builds the same commit again: same digest, same
// bytes.
func TestImageReproducible(t *testing.T) {
	t.Parallel()
	first := mustBuildImage(t)
	o := testImage
	o.Output = filepath.Join(t.TempDir(), "again.tar")
	if err := imagebuild.Build(t.Context(), o); err != nil {
		t.Fatalf("second build: %v", err)
	}
	digest := func(p string) v1.Hash {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "layout")
		untar(t, p, dir)
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil || len(im.Manifests) != 1 {
			t.Fatalf("index: %v", err)
		}
		return im.Manifests[0].Digest
	}
	if a, b := digest(first), digest(o.Output); a != b {
		t.Errorf("two builds of one commit: digests %s and %s, want one", a, b)
	}
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(o.Output)
	if !bytes.Equal(a, b) {
		t.Errorf("two builds of one commit wrote different archives (%d and %d bytes)", len(a), len(b))
	}
}

// TestImageBinaryRuns runs the image's /waddle (built for this machine):
// version prints the stamp, healthcheck passes on 200 and fails on 503.
func TestImageBinaryRuns(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "waddle")
	if err := os.WriteFile(bin, mustReadLayer(t)["waddle"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), bin, "version").CombinedOutput()
	want := "waddle v0.0.0-test.1 (commit 0123456789abcdef0123456789abcdef01234567, built 2026-01-02T03:04:05Z, go"
	if err != nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("waddle version = %q, %v; want it to start %q", out, err, want)
	}
	for _, tc := range []struct {
		status   int
		wantExit int
	}{{http.StatusOK, 0}, {http.StatusServiceUnavailable, 1}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(tc.status)
		}))
		cmd := exec.CommandContext(t.Context(), bin, "healthcheck")
		cmd.Env = []string{"LISTEN_ADDR=" + strings.TrimPrefix(srv.URL, "http://")} // nothing else: no config needed
		out, err := cmd.CombinedOutput()
		srv.Close()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != tc.wantExit {
			t.Errorf("healthcheck against %d: %v (%s), want exit %d", tc.status, err, out, tc.wantExit)
		}
	}
}

func TestBuildBadOptions(t *testing.T) {
	t.Parallel()
	notPEM := filepath.Join(t.TempDir(), "certs.crt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		edit    func(*imagebuild.Options)
		wantErr string
	}{
		{"arch", func(o *imagebuild.Options) { o.Arch = "386" }, `arch "386"`},
		{"version", func(o *imagebuild.Options) { o.Version = "v1 beta" }, `version "v1 beta"`},
		{"no time", func(o *imagebuild.Options) { o.Created = time.Time{} }, "created time is not set"},
		{"no CA bundle", func(o *imagebuild.Options) { o.CACerts = filepath.Join(t.TempDir(), "missing.crt") }, "CA certificates"},
		{"CA bundle not PEM", func(o *imagebuild.Options) { o.CACerts = notPEM }, "no PEM certificate"},
		{"no output", func(o *imagebuild.Options) { o.Output = "" }, "no output path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := testImage
			o.Output = filepath.Join(t.TempDir(), "x.tar")
			tc.edit(&o)
			err := imagebuild.Build(t.Context(), o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Build = %v, want an error with %q", err, tc.wantErr)
			}
			if _, statErr := os.Stat(o.Output); o.Output != "" && !errors.Is(statErr, fs.ErrNotExist) {
				t.Errorf("a failed build left %s", o.Output)
			}
		})
	}
}

// TestRootFSMatchesImage: what the Dockerfile copies from its build stage
// (the builder's -rootfs) is the image's files, with their modes.
func TestRootFSMatchesImage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := imagebuild.BuildRootFS(t.Context(), testImage, dir); err != nil {
		t.Fatalf("build rootfs: %v", err)
	}
	want := mustReadLayer(t)
	got := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		name := filepath.ToSlash(strings.TrimPrefix(p, dir+string(filepath.Separator)))
		got[name] = true
		f, ok := want[name]
		if !ok {
			t.Errorf("rootfs has %s, the image does not", name)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := int64(info.Mode().Perm())
		if info.Mode()&fs.ModeSticky != 0 {
			mode |= 0o1000
		}
		if mode != f.hdr.Mode || info.IsDir() != (f.hdr.Typeflag == tar.TypeDir) {
			t.Errorf("%s: rootfs mode %v, image mode %o", name, info.Mode(), f.hdr.Mode)
		}
		if !info.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !bytes.Equal(b, f.data) {
				t.Errorf("%s: rootfs and image differ (%d and %d bytes)", name, len(b), len(f.data))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if !got[name] {
			t.Errorf("the image has %s, rootfs does not", name)
		}
	}
}
