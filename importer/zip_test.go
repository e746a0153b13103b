package importer

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"strings"
	"testing"
)

func fbDeflate(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOpenZipRefuses(t *testing.T) {
	t.Parallel()
	symlink := zip.FileHeader{Name: "Main Profile/chat/commands.json"}
	symlink.SetMode(fs.ModeSymlink | 0o777)

	small := []byte(`{"customCommands":{}}`)
	packed := fbDeflate(t, small)
	// Headers that claim 2 GiB unpacked for 30-odd packed bytes.
	bomb := zip.FileHeader{
		Name: "Main Profile/db/users.db", Method: zip.Deflate,
		CRC32: crc32.ChecksumIEEE(small), CompressedSize64: uint64(len(packed)), UncompressedSize64: 2 << 30,
	}
	zeros := make([]byte, 1<<20)

	var many []fbZipEntry
	for i := 0; i <= MaxZipEntries; i++ {
		many = append(many, fbZipEntry{hdr: zip.FileHeader{Name: fmt.Sprintf("f%05d.txt", i), Method: zip.Store}})
	}

	cases := []struct {
		name    string
		entries []fbZipEntry
		wantMsg string
	}{
		{"parent directory", []fbZipEntry{{hdr: zip.FileHeader{Name: "../chat/commands.json"}, content: "{}"}}, "path traversal"},
		{"parent inside", []fbZipEntry{{hdr: zip.FileHeader{Name: "a/../../chat/commands.json"}, content: "{}"}}, "path traversal"},
		{"absolute", []fbZipEntry{{hdr: zip.FileHeader{Name: "/etc/commands.json"}, content: "{}"}}, "absolute path"},
		{"backslash", []fbZipEntry{{hdr: zip.FileHeader{Name: `..\chat\commands.json`}, content: "{}"}}, "backslash"},
		{"drive letter", []fbZipEntry{{hdr: zip.FileHeader{Name: "C:/chat/commands.json"}, content: "{}"}}, "drive letter"},
		{"symlink", []fbZipEntry{{hdr: symlink, content: "/etc/passwd"}}, "symbolic link"},
		{"too many entries", many, "entries; at most"},
		{"2 GiB bomb header", []fbZipEntry{{hdr: bomb, raw: true, packed: packed}}, "refused before unpacking"},
		{"ratio", []fbZipEntry{{hdr: zip.FileHeader{Name: "Main Profile/db/users.db"}, content: string(zeros)}}, "zip bomb"},
		{"duplicate", []fbZipEntry{
			{hdr: zip.FileHeader{Name: "a/timers.json"}, content: "{}"},
			{hdr: zip.FileHeader{Name: "a/timers.json"}, content: "{}"},
		}, "two entries"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := fbWriteZip(t, t.TempDir(), "profile.zip", tc.entries)
			z, err := OpenZip(f)
			if err == nil {
				z.Close()
				t.Fatal("OpenZip accepted it")
			}
			var fe *FileError
			if !errors.As(err, &fe) || !strings.Contains(fe.Message, tc.wantMsg) || !strings.HasPrefix(fe.File, "profile.zip") {
				t.Fatalf("err = %v; want a *FileError on profile.zip with %q", err, tc.wantMsg)
			}
			// ReadFirebot refuses it the same way.
			if _, err := ReadFirebot([]File{f}); !errors.As(err, &fe) || !strings.Contains(fe.Message, tc.wantMsg) {
				t.Fatalf("ReadFirebot err = %v; want %q", err, tc.wantMsg)
			}
		})
	}
}

func TestOpenZipReads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := fbWriteZip(t, dir, "p.zip", []fbZipEntry{
		{hdr: zip.FileHeader{Name: "Main Profile/"}},
		{hdr: zip.FileHeader{Name: "Main Profile/timers.json"}, content: `{"a": 1}`},
		{hdr: zip.FileHeader{Name: "Main Profile/./counters/counters.json", Method: zip.Store}, content: `{}`},
	})
	z, err := OpenZip(f)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	for _, e := range z.Entries {
		names = append(names, e.Name)
	}
	if want := "Main Profile/timers.json,Main Profile/counters/counters.json"; strings.Join(names, ",") != want {
		t.Fatalf("entries = %v; want %s", names, want)
	}
	r, err := z.Entries[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != `{"a": 1}` {
		t.Fatalf("read %q, %v", got, err)
	}
}

// TestOpenZipLyingHeader: an entry whose data unpacks to more than its
// header says is cut off at the stated size and refused while reading.
func TestOpenZipLyingHeader(t *testing.T) {
	t.Parallel()
	var doc bytes.Buffer
	for i := 0; doc.Len() < 200<<10; i++ {
		fmt.Fprintf(&doc, `{"_id":"%d","username":"v%d","currency":{"c":1}}`+"\n", i, i)
	}
	packed := fbDeflate(t, doc.Bytes())
	h := zip.FileHeader{
		Name: "db/users.db", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(doc.Bytes()),
		CompressedSize64: uint64(len(packed)), UncompressedSize64: uint64(len(packed)) * 2,
	}
	f := fbWriteZip(t, t.TempDir(), "p.zip", []fbZipEntry{{hdr: h, raw: true, packed: packed}})
	_, err := ReadFirebot([]File{f})
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != "p.zip: db/users.db" || !strings.Contains(fe.Message, "cannot be read") {
		t.Fatalf("err = %v; want the entry refused while reading", err)
	}
}

func TestOpenZipNotAZip(t *testing.T) {
	t.Parallel()
	f := fbWriteFile(t, t.TempDir(), "profile.zip", "PK\x03\x04 but not really")
	_, err := OpenZip(f)
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "not a zip file") {
		t.Fatalf("err = %v; want not a zip", err)
	}
}
