package importer

import (
	"archive/zip"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// fbProfile is a small Firebot profile folder, written by hand in the
// shapes Firebot saves (paths relative to the profile folder).
var fbProfile = map[string]string{
	"chat/commands.json": `{
  "systemCommandOverrides": {},
  "customCommands": {
    "c1": {"id": "c1", "trigger": "!hello", "active": true, "aliases": ["!hi", "hey"], "count": 12,
      "cooldown": {"global": 30, "user": 60},
      "restrictionData": {"mode": "all", "restrictions": [
        {"id": "r1", "type": "firebot:permissions", "mode": "roles", "roleIds": ["mod", "vip"]}]},
      "effects": {"id": "e1", "list": [
        {"id": "x1", "type": "firebot:chat", "message": "Hello $user, welcome to $streamer! Roll: $randomNumber[1, 6]"}]}},
    "c2": {"id": "c2", "trigger": "!sound", "active": true,
      "effects": {"id": "e2", "list": [{"id": "x2", "type": "firebot:playsound", "filepath": "C:/a.mp3"}]}},
    "c3": {"id": "c3", "trigger": "!mixed", "active": true,
      "effects": {"id": "e3", "list": [
        {"id": "x3", "type": "firebot:chat", "message": "deaths: $counter[Deaths]"},
        {"id": "x4", "type": "firebot:playsound"}]}},
    "c4": {"id": "c4", "trigger": "!api",
      "effects": {"id": "e4", "list": [{"id": "x5", "type": "firebot:chat", "message": "$readApi[https://example.com/x]"}]}},
    "c5": {"id": "c5", "trigger": "!Ü", "active": true,
      "effects": {"id": "e5", "list": [{"id": "x6", "type": "firebot:chat", "message": "umlaut"}]}},
    "c6": {"id": "c6", "trigger": "!sub-only", "active": false,
      "restrictionData": {"mode": "all", "restrictions": [
        {"id": "r2", "type": "firebot:permissions", "mode": "roles", "roleIds": ["sub", "tier1"]}]},
      "effects": {"id": "e6", "list": [
        {"id": "x7", "type": "firebot:chat", "message": "subs only $arg[1] $arg[1,last] $target $currency[Coins, $user]"}]}},
    "c7": {"id": "c7", "trigger": "?hello",
      "effects": {"id": "e9", "list": [{"id": "x10", "type": "firebot:chat", "message": "again"}]}},
    "c8": {"id": "c8", "trigger": "!welcome", "aliases": ["!hi", "!greet"],
      "effects": {"id": "e10", "list": [{"id": "x11", "type": "firebot:chat", "message": "Welcome!", "active": true}, {"id": "x12", "type": "firebot:playsound", "active": false}]}}
  }
}`,
	"timers.json": `{
  "t1": {"id": "t1", "name": "Discord", "active": true, "interval": 600, "requiredChatLines": 5, "onlyWhenLive": true,
    "effects": {"id": "e7", "list": [{"id": "x8", "type": "firebot:chat", "message": "Join at example.org"}]}, "sortTags": []},
  "t2": {"id": "t2", "name": "Sound", "active": true, "interval": 90, "requiredChatLines": 0, "onlyWhenLive": false,
    "effects": {"id": "e8", "list": [{"id": "x9", "type": "firebot:playsound"}]}, "sortTags": []}
}`,
	"currency/currency.json": `{
  "cur-a": {"id": "cur-a", "name": "Coins", "active": true, "payout": 5, "interval": 5, "limit": 1000000, "transfer": "Allow", "offline": 0},
  "cur-b": {"id": "cur-b", "name": "Gems", "active": true, "payout": 1, "interval": 10, "limit": 100, "transfer": "Allow"}
}`,
	"counters/counters.json": `{"k1": {"id": "k1", "name": "Deaths", "value": 42, "saveToTxtFile": false}}`,
	"db/users.db": `{"username":"alice","displayName":"Alice","_id":"1001","twitch":true,"minutesInChannel":120,"currency":{"cur-a":500,"cur-b":3}}
{"$$indexCreated":{"fieldName":"username","unique":false,"sparse":false}}
{"username":"bob","displayName":"bob","_id":"1002","twitch":true,"minutesInChannel":0,"currency":{"cur-a":10}}
{"username":"carol","displayName":"Carol","_id":"1003","twitch":true,"minutesInChannel":3,"currency":{"cur-a":7}}
{"username":"alice","displayName":"Alice","_id":"1001","twitch":true,"minutesInChannel":125,"currency":{"cur-a":550,"cur-b":3}}
{"$$deleted":true,"_id":"1003"}
`,
	"db/quotes.db": `{"_id":"__autoid__","seq":3}
{"_id":1,"text":"I never lose","originator":"alice","creator":"bob","game":"Chess","createdAt":"2021-04-23T19:01:02.000Z"}
{"_id":2,"text":"second","originator":"","creator":"mod1","game":"","createdAt":"2022-01-02T03:04:05.000+02:00"}
{"_id":3,"text":"gone","originator":"x","creator":"y","game":"","createdAt":"2022-01-03T00:00:00.000Z"}
{"$$deleted":true,"_id":3}
`,
	"chat/moderation/banned-words.json":               `{"words": [{"text": "BadWord", "createdAt": 1700000000000}]}`,
	"chat/moderation/banned-regular-expressions.json": `{"regularExpressions": [{"text": "fr[e3]e\\s+v-?bucks", "createdAt": 1}, {"text": "(?<=x)y", "createdAt": 2}]}`,
	// Files the importer does not read.
	"settings.json":                    `{"settings": {}}`,
	"effects/preset-effect-lists.json": `{}`,
}

// fbWriteFile writes content to dir/name and returns it as an upload.
func fbWriteFile(t testing.TB, dir, name, content string) File {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return File{Name: filepath.Base(name), Path: p, Size: int64(len(content))}
}

// fbZipEntry is an entry for writeZip: content, or with raw set, the packed
// bytes and the header as given (for lying headers).
type fbZipEntry struct {
	hdr     zip.FileHeader
	content string
	raw     bool
	packed  []byte
}

// fbWriteZip writes a zip of entries to dir/name.
func fbWriteZip(t testing.TB, dir, name string, entries []fbZipEntry) File {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := zip.NewWriter(f)
	for _, e := range entries {
		h := e.hdr
		if e.raw {
			zw, err := w.CreateRaw(&h)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := zw.Write(e.packed); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if h.Method == 0 && h.Mode()&os.ModeSymlink == 0 {
			h.Method = zip.Deflate
		}
		zw, err := w.CreateHeader(&h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write([]byte(e.content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return File{Name: name, Path: p, Size: st.Size()}
}

// fbProfileZip zips files under prefix (a profile folder's name).
func fbProfileZip(t testing.TB, dir, name, prefix string, files map[string]string) File {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var entries []fbZipEntry
	for _, n := range names {
		entries = append(entries, fbZipEntry{hdr: zip.FileHeader{Name: prefix + n}, content: files[n]})
	}
	return fbWriteZip(t, dir, name, entries)
}
