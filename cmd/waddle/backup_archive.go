package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// archiveFacts is what `waddle backup` and `waddle restore` read from an archive.
type archiveFacts struct {
	schemaVersion int64 // the newest Waddle migration applied in the dumped database
	communities   int   // rows of the communities table
}

// errNotWaddle is a valid archive of some other database.
var errNotWaddle = errors.New("it holds no goose_db_version table, so it is not a backup of a Waddle database")

// readArchive reads the whole archive through pg_restore (so every block is
// checked readable, and a truncated or corrupt file is an error) and returns
// what it holds.
func (x pgExec) readArchive(ctx context.Context, restore pgTool, file string) (archiveFacts, error) {
	cmd := restore.command(ctx, "--file=-", file)
	script, err := cmd.StdoutPipe()
	if err != nil {
		return archiveFacts{}, err
	}
	var facts archiveFacts
	var found bool
	var scanErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		facts, found, scanErr = scanScript(script)
		io.Copy(io.Discard, script)
	}()
	err = x.runPiped(restore, cmd, done)
	if err != nil {
		return archiveFacts{}, err
	}
	if scanErr != nil {
		return archiveFacts{}, scanErr
	}
	if !found {
		return archiveFacts{}, errNotWaddle
	}
	return facts, nil
}

// runPiped runs cmd whose stdout a reader drains until done, and waits for both.
func (x pgExec) runPiped(tool pgTool, cmd *exec.Cmd, done <-chan struct{}) error {
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if x.started != nil {
		x.started(cmd)
	}
	if err := cmd.Start(); err != nil {
		<-done // Start closed the pipe: the reader stops
		return fmt.Errorf("%s: %w", tool.name, err)
	}
	<-done // the reader has seen EOF: Wait may close the pipe now
	if err := cmd.Wait(); err != nil {
		return toolError(tool, err, &errBuf)
	}
	return nil
}

// command runs the tool on local files only: no database.
func (t pgTool) command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, t.path, args...)
}

// scanScript reads a pg_restore script: the newest applied version in the
// goose_db_version table's COPY block, and the rows of the communities one.
func scanScript(r io.Reader) (facts archiveFacts, found bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var block string  // the table whose COPY block this is, "" outside one
	var cols []string // its columns
	applied := map[int64]bool{}
	for {
		line, err := br.ReadSlice('\n')
		long := errors.Is(err, bufio.ErrBufferFull)
		for errors.Is(err, bufio.ErrBufferFull) { // a long data line: not goose's
			_, err = br.ReadSlice('\n')
		}
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil && err != io.EOF {
			return facts, false, err
		}
		s := strings.TrimRight(string(line), "\r\n")
		switch {
		case block == "" && strings.HasPrefix(s, "COPY public.goose_db_version ("):
			block, found = "goose", true
			list := s[strings.Index(s, "(")+1 : strings.LastIndex(s, ")")]
			cols = strings.Split(strings.ReplaceAll(list, " ", ""), ",")
		case block == "" && strings.HasPrefix(s, "COPY public.communities ("):
			block = "communities"
		case block != "" && s == `\.`:
			block = ""
		case block == "communities":
			facts.communities++
		case block == "goose" && !long:
			row := map[string]string{}
			for i, v := range strings.Split(s, "\t") {
				if i < len(cols) {
					row[cols[i]] = v
				}
			}
			v, perr := strconv.ParseInt(row["version_id"], 10, 64)
			if perr != nil {
				return facts, false, fmt.Errorf("goose_db_version row %q: %w", s, perr)
			}
			applied[v] = row["is_applied"] != "f"
		}
		if err == io.EOF {
			break
		}
	}
	for v, ok := range applied {
		if ok && v > facts.schemaVersion {
			facts.schemaVersion = v
		}
	}
	return facts, found, nil
}
