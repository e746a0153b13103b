package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/waddle/waddle/importer"
	"github.com/waddle/waddle/problem"
)

// Uploads to the importer: every file of a multipart body is streamed to a
// temporary file (never held in memory), within the browser's limit for the
// whole body and a smaller limit for files that hold commands, timers or
// quotes. The readers then parse each file from disk as a stream.

const (
	maxImportFiles     = 20      // files in one upload
	maxImportFieldSize = 8 << 10 // a text field of the upload form
	maxImportNameLen   = 200     // a file's name as shown back
)

// importUpload is a parsed upload: its text fields and its files on disk.
// Close removes the files.
type importUpload struct {
	dir    string
	Fields map[string]string
	Files  []importer.File
}

// Close removes the upload's files.
func (u *importUpload) Close() {
	if u != nil && u.dir != "" {
		os.RemoveAll(u.dir)
	}
}

// fileLimit is the most a file of that name may hold: commands, timers,
// quotes and settings are small JSON or export files; spreadsheets, viewer
// databases and zips may use the whole browser limit.
func fileLimit(name string, total int64) int64 {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".abcom", ".abcomg", ".txt", ".csv":
		return min(importer.MaxCommandsBytes, total)
	}
	return total
}

// uploadName is a file's name as the browser sent it, reduced to its base
// name and cut to a length fit to show.
func uploadName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "?")
	}
	if len(name) > maxImportNameLen {
		cut := maxImportNameLen
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut]
	}
	if name == "." || name == "/" || name == "" {
		return "file"
	}
	return name
}

// readImportUpload streams a multipart body to temporary files. total bounds
// the body (the hub's 50 MiB; the CLI does not come here). A file over its
// limit is refused by name.
func readImportUpload(w http.ResponseWriter, r *http.Request, total int64) (*importUpload, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return nil, problem.New(problem.Invalid, "Send the files as multipart/form-data.")
	}
	if r.ContentLength > total+64<<10 {
		return nil, problem.New(problem.Invalid, "The upload is %s; the hub takes at most %s at once (use `waddle import` in a terminal for larger files).",
			byteSize(r.ContentLength), byteSize(total))
	}
	r.Body = http.MaxBytesReader(w, r.Body, total+64<<10) // the parts' headers and boundaries
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, problem.New(problem.Invalid, "The upload could not be read as multipart/form-data.")
	}
	dir, err := os.MkdirTemp("", "waddle-import-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory for an upload: %w", err)
	}
	u := &importUpload{dir: dir, Fields: map[string]string{}}
	var used int64
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			u.Close()
			return nil, uploadReadError(err, total)
		}
		err = u.addPart(part, total-used, &used)
		part.Close()
		if err != nil {
			u.Close()
			return nil, uploadReadError(err, total)
		}
	}
	return u, nil
}

func (u *importUpload) addPart(part *multipart.Part, room int64, used *int64) error {
	if part.FileName() == "" {
		b, err := io.ReadAll(io.LimitReader(part, maxImportFieldSize+1))
		if err != nil {
			return err
		}
		if len(b) > maxImportFieldSize {
			return problem.New(problem.Invalid, "The field %q is too long.", part.FormName())
		}
		u.Fields[part.FormName()] = string(b)
		return nil
	}
	if len(u.Files) == maxImportFiles {
		return problem.New(problem.Invalid, "Upload at most %d files at once.", maxImportFiles)
	}
	name := uploadName(part.FileName())
	limit := fileLimit(name, importer.MaxBrowserBytes)
	f, err := os.CreateTemp(u.dir, "upload-*"+safeExt(name))
	if err != nil {
		return fmt.Errorf("temporary file for an upload: %w", err)
	}
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(part, min(limit, room)+1))
	if err != nil {
		return err
	}
	if n > limit {
		return problem.New(problem.Invalid, "%s: the file is larger than %s, the most this kind of file may hold.", name, byteSize(limit))
	}
	if n > room {
		return problem.New(problem.Invalid, "%s: the upload is larger than %s, the most the hub takes at once (use `waddle import` in a terminal for larger files).",
			name, byteSize(importer.MaxBrowserBytes))
	}
	if n == 0 {
		return problem.New(problem.Invalid, "%s: the file is empty.", name)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write an upload: %w", err)
	}
	*used += n
	u.Files = append(u.Files, importer.File{Name: name, Path: f.Name(), Size: n})
	return nil
}

// safeExt keeps a name's extension (readers may look at it) if it is plain.
func safeExt(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if len(ext) > 16 {
		return ""
	}
	for _, c := range ext[min(1, len(ext)):] {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return ""
		}
	}
	return ext
}

func uploadReadError(err error, total int64) error {
	if problem.As(err) != nil {
		return err
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return problem.New(problem.Invalid, "The upload is larger than %s, the most the hub takes at once (use `waddle import` in a terminal for larger files).", byteSize(total))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "multipart") {
		return problem.New(problem.Invalid, "The upload was cut short or is not valid multipart/form-data.")
	}
	return err
}

// byteSize writes a size for people: "5 MiB", "812 KiB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// readBundle reads uploaded files with the source's reader. A malformed file
// is the manager's problem to fix and is answered as such, naming the file
// and where it is wrong.
func readBundle(ctx context.Context, src importer.Source, files []importer.File) (*importer.Bundle, error) {
	if len(files) == 0 {
		return nil, problem.New(problem.Invalid, "Choose at least one file to import.")
	}
	var (
		b   *importer.Bundle
		err error
	)
	switch src {
	case importer.Nightbot:
		b, err = importer.ReadNightbot(files)
	case importer.Streamlabs:
		b, err = importer.ReadStreamlabs(files)
	case importer.Firebot:
		b, err = importer.ReadFirebot(files)
	case importer.PhantomBot:
		b, err = importer.ReadPhantomBot(files)
	case importer.StreamElements:
		return nil, problem.New(problem.Invalid, "StreamElements is imported through its API: paste the account's JWT instead of uploading files.")
	default:
		return nil, unknownSource(string(src))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b, sourceError(err, files)
}

// sourceError turns a reader's or an API client's error into one the
// manager can act on. File errors name the file and the line or cell; other
// errors of a reader are about the files too, with the temporary paths
// replaced by the names the files were uploaded as.
func sourceError(err error, files []importer.File) error {
	if err == nil || problem.As(err) != nil || errors.Is(err, context.Canceled) {
		return err
	}
	var fe *importer.FileError
	if errors.As(err, &fe) {
		return &problem.Error{Code: problem.Invalid, Message: fe.Error()}
	}
	msg := err.Error()
	for _, f := range files {
		msg = strings.ReplaceAll(msg, f.Path, f.Name)
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	return &problem.Error{Code: problem.Invalid, Message: "The import could not be read: " + msg}
}

func unknownSource(s string) error {
	names := make([]string, 0, len(importer.Sources))
	for _, x := range importer.Sources {
		names = append(names, string(x))
	}
	return problem.Invalidf("source", "Unknown source %q: use one of %s.", s, strings.Join(names, ", "))
}

// parseSource checks a source's name.
func parseSource(s string) (importer.Source, error) {
	for _, x := range importer.Sources {
		if string(x) == s {
			return x, nil
		}
	}
	return "", unknownSource(s)
}
