package imagebuild

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The image's user: not root, and the same numbers distroless uses for
// its nonroot user, so volume ownership carries over between such images.
const (
	UID      = 65532
	UserName = "waddle"
	// User is the image's USER: numeric, so a runtime can tell it is not
	// root without reading /etc/passwd.
	User = "65532:65532"
)

// passwd and group name the user for tools that look it up; its shell does
// not exist (there is no shell in the image) and its home is not a directory.
var (
	passwd = fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/nonexistent:/sbin/nologin\n", UserName, UID, UID, UserName)
	group  = fmt.Sprintf("root:x:0:\n%s:x:%d:\n", UserName, UID)
)

// file is one entry of the image's root file system.
type file struct {
	name string      // relative, slash-separated, no leading slash
	mode fs.FileMode // permission bits, with fs.ModeDir and fs.ModeSticky where they apply
	data []byte      // a regular file's content
}

// rootFiles lists the image's files, directories first along each path,
// sorted by name.
func rootFiles(certs []byte, bin string) ([]file, error) {
	waddle, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	files := []file{
		{name: "etc", mode: fs.ModeDir | 0o755},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/ssl", mode: fs.ModeDir | 0o755},
		{name: "etc/ssl/certs", mode: fs.ModeDir | 0o755},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs},
		{name: "tmp", mode: fs.ModeDir | fs.ModeSticky | 0o777},
		{name: "waddle", mode: 0o755, data: waddle},
	}
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.name, b.name) })
	return files, nil
}

// readCACerts reads the CA bundle for the image.
func readCACerts(path string) ([]byte, error) {
	certs, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA certificates (install Debian's ca-certificates): %w", err)
	}
	if !bytes.Contains(certs, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("CA certificates %s hold no PEM certificate", path)
	}
	return certs, nil
}

// layerTar is the files as an uncompressed tar owned by root, every mtime
// set to created.
func layerTar(files []file, created time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name:    f.name,
			Mode:    int64(f.mode.Perm()),
			ModTime: created,
			Format:  tar.FormatPAX,
		}
		if f.mode&fs.ModeSticky != 0 {
			h.Mode |= 0o1000 // tar's sticky bit (c_ISVTX)
		}
		if f.mode.IsDir() {
			h.Typeflag, h.Name = tar.TypeDir, f.name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeDir writes the files under dir (the binary may already be there).
func writeDir(dir string, files []file) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(path.Clean(f.name)))
		if f.mode.IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		} else if err := os.WriteFile(p, f.data, f.mode.Perm()); err != nil {
			return err
		}
		// Chmod, not the create mode: the umask must not narrow it.
		if err := os.Chmod(p, f.mode&(fs.ModePerm|fs.ModeSticky)); err != nil {
			return err
		}
	}
	return nil
}
