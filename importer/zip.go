package importer

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Zip is an uploaded zip whose directory has been checked: every entry is a
// regular file under a relative, clean path, there are at most MaxZipEntries
// of them, their sizes as the headers state them add up to at most
// MaxZipUnpacked, and no entry claims to unpack to more than MaxZipRatio
// times its packed size. The checks read only the central directory, so a
// bomb is refused before any of it is unpacked; reading an entry then stops
// at the size its header states (archive/zip refuses data beyond it).
type Zip struct {
	Name    string // the zip's name as uploaded
	Entries []ZipEntry
	r       *zip.ReadCloser
}

// ZipEntry is one file in a checked zip.
type ZipEntry struct {
	Name string // slash-separated, relative, clean
	Size int64  // unpacked, as the header states
	f    *zip.File
}

// OpenZip opens f as a zip and checks its directory (see Zip). A zip that
// breaks a rule is refused with a *FileError naming the entry.
func OpenZip(f File) (*Zip, error) {
	r, err := zip.OpenReader(f.Path)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, &FileError{File: f.Name, Message: "not a zip file this importer can read: " + zipReason(err)}
	}
	if r == nil {
		return nil, &FileError{File: f.Name, Message: "not a zip file this importer can read"}
	}
	z := &Zip{Name: f.Name, r: r}
	if err := z.check(); err != nil {
		r.Close()
		return nil, err
	}
	return z, nil
}

func zipReason(err error) string {
	if errors.Is(err, zip.ErrFormat) {
		return "its directory is damaged or missing"
	}
	if errors.Is(err, zip.ErrAlgorithm) {
		return "it uses a compression method other than store or deflate"
	}
	return "it cannot be opened"
}

func (z *Zip) check() error {
	files := z.r.File
	if len(files) > MaxZipEntries {
		return &FileError{File: z.Name, Message: fmt.Sprintf("the zip has %d entries; at most %d are read", len(files), MaxZipEntries)}
	}
	var total uint64
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		name, err := zipEntryName(f.Name)
		if err != nil {
			return &FileError{File: z.Name + ": " + zipPrintable(f.Name), Message: err.Error()}
		}
		where := z.Name + ": " + name
		mode := f.Mode()
		if mode&fs.ModeSymlink != 0 {
			return &FileError{File: where, Message: "the zip holds a symbolic link; links are refused"}
		}
		if mode.IsDir() || strings.HasSuffix(f.Name, "/") {
			if f.UncompressedSize64 != 0 {
				return &FileError{File: where, Message: "a folder entry that holds data"}
			}
			continue
		}
		if !mode.IsRegular() {
			return &FileError{File: where, Message: "the zip holds a special file (device, pipe or socket); only regular files are read"}
		}
		if seen[name] {
			return &FileError{File: where, Message: "the zip holds two entries with this name"}
		}
		seen[name] = true
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return &FileError{File: where, Message: "compressed with a method other than store or deflate"}
		}
		size := f.UncompressedSize64
		total += size
		if size > MaxZipUnpacked || total > MaxZipUnpacked {
			return &FileError{File: where, Message: fmt.Sprintf("the zip unpacks to more than %d MiB (its headers say so); refused before unpacking", MaxZipUnpacked>>20)}
		}
		if size > 0 && (f.CompressedSize64 == 0 || size/f.CompressedSize64 > MaxZipRatio) {
			return &FileError{File: where, Message: fmt.Sprintf("the entry unpacks to more than %d times its packed size; refused as a zip bomb", MaxZipRatio)}
		}
		z.Entries = append(z.Entries, ZipEntry{Name: name, Size: int64(size), f: f})
	}
	return nil
}

// zipEntryName checks a zip entry's name: relative, forward slashes only,
// no "..", no drive letter, no control characters.
func zipEntryName(name string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("an entry without a name")
	case strings.ContainsRune(name, '\\'):
		return "", errors.New("an entry name with a backslash; refused as a possible path traversal")
	case strings.HasPrefix(name, "/"):
		return "", errors.New("an entry with an absolute path; refused as a path traversal")
	case len(name) >= 2 && name[1] == ':':
		return "", errors.New("an entry with a drive letter; refused as a path traversal")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", errors.New("an entry name with a control character")
		}
	}
	for _, part := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if part == ".." {
			return "", errors.New("an entry whose path climbs out of the zip (..); refused as a path traversal")
		}
	}
	clean := path.Clean(name)
	if clean == "." || !fs.ValidPath(clean) {
		return "", errors.New("an entry with an invalid path")
	}
	return clean, nil
}

// zipPrintable shortens and quotes a name that failed the checks, for errors.
func zipPrintable(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// Open opens the entry for reading. Reading fails (archive/zip's ErrFormat)
// when the data unpacks to more than the header states.
func (e ZipEntry) Open() (io.ReadCloser, error) {
	return e.f.Open()
}

// Close closes the zip.
func (z *Zip) Close() error { return z.r.Close() }
