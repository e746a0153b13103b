package importer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReadFirebotViewers(t *testing.T) {
	t.Parallel()
	currencies := `{"c1": {"id": "c1", "name": "Points"}, "c2": {"id": "c2", "name": "Tickets"}, "c3": {"id": "c3", "name": "Points"}}`
	users := strings.Join([]string{
		`{"$$indexCreated":{"fieldName":"username","unique":true}}`,
		`{"_id":"1","username":"Ann","displayName":"Ann","minutesInChannel":10,"currency":{"c1":5,"c2":0,"c3":9}}`,
		`{"_id":"2","username":"ben","displayName":"ben","minutesInChannel":0,"currency":{"c1":0,"c2":0}}`,
		`{"_id":"3","username":"cat","minutesInChannel":1,"currency":{"c1":2.9,"gone":4}}`,
		`{"$$deleted":true,"_id":"1"}`,
		`{"_id":"1","username":"ann","displayName":"Annie","minutesInChannel":11,"currency":{"c1":6}}`,
		`   `,
		`{"_id":"twitch:4","platform":"twitch","username":"dan","currency":{"c2":-3}}`,
		`{"_id":"youtube:UCx","platform":"youtube","username":"eve","currency":{"c1":1}}`,
		`{"_id":"5","username":"","currency":{"c1":1}}`,
		`{"_id":"3","username":"cat","minutesInChannel":2,"currency":{"c1":2.9,"gone":4}}`,
		`{"$$indexRemoved":"username"}`,
	}, "\n")
	dir := t.TempDir()
	b, err := ReadFirebot([]File{fbWriteFile(t, dir, "users.db", users), fbWriteFile(t, dir, "currency.json", currencies)})
	if err != nil {
		t.Fatal(err)
	}
	want := &Bundle{
		Source: Firebot,
		// Two currencies named Points: the second keeps its id beside the name.
		Currencies: []string{"Points", "Points (c3)", "Tickets"},
		Points: []Balance{
			// cat: first seen before ann's tombstone, its later line wins.
			{Login: "cat", UserID: "3", Points: 2, Seconds: 120, Currency: "Points"},
			{Login: "cat", UserID: "3", Seconds: 120, Currency: "Points (c3)"},
			{Login: "cat", UserID: "3", Seconds: 120, Currency: "Tickets"},
			// ann was deleted and added again: her new line, in its place.
			{Login: "ann", UserID: "1", Name: "Annie", Points: 6, Seconds: 660, Currency: "Points"},
			{Login: "ann", UserID: "1", Name: "Annie", Seconds: 660, Currency: "Points (c3)"},
			{Login: "ann", UserID: "1", Name: "Annie", Seconds: 660, Currency: "Tickets"},
			{Login: "dan", UserID: "4", Points: -3, Currency: "Tickets"},
			{Login: "eve", UserID: "UCx", Platform: "youtube", Points: 1, Currency: "Points"},
		},
		Skipped: []Skipped{
			{Category: "points", Name: "5", Reason: "the viewer has no username"},
			{Category: "points", Name: "currency gone", Reason: "1 viewers hold a currency that currency.json does not list (deleted in Firebot?)"},
		},
		Notes: []string{
			"1 balances had a fraction; it is dropped (rounded toward zero).",
			"1 viewers are YouTube viewers; their balances keep the platform youtube.",
		},
	}
	if d := cmp.Diff(want, b, fbBundleCmp); d != "" {
		t.Errorf("bundle (-want +got):\n%s", d)
	}
}

func TestReadFirebotViewersWithoutCurrencyFile(t *testing.T) {
	t.Parallel()
	users := `{"_id":"1","username":"a","currency":{"id-x":3,"id-y":4}}` + "\n" +
		`{"_id":"2","username":"b","currency":{"id-y":1}}` + "\n"
	b, err := ReadFirebot([]File{fbWriteFile(t, t.TempDir(), "users.db", users)})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Currencies) != 2 || len(b.Points) != 3 || len(b.Notes) != 1 || !strings.Contains(b.Notes[0], "named by its Firebot id") {
		t.Fatalf("currencies %q, points %+v, notes %q", b.Currencies, b.Points, b.Notes)
	}
	got := map[string]int64{}
	for _, p := range b.Points {
		got[p.Login+"/"+p.Currency] = p.Points
	}
	if d := cmp.Diff(map[string]int64{"a/id-x": 3, "a/id-y": 4, "b/id-y": 1}, got); d != "" {
		t.Errorf("balances (-want +got):\n%s", d)
	}
}

func TestReadFirebotQuotesRenumbered(t *testing.T) {
	t.Parallel()
	quotes := strings.Join([]string{
		`{"_id":"__autoid__","seq":10}`,
		`{"_id":10,"text":"ten","createdAt":1600000000000}`,
		`{"_id":2,"text":"two","createdAt":"not a date"}`,
		`{"_id":2,"text":"two, edited","creator":"m"}`,
		`{"_id":3,"text":"  "}`,
	}, "\n")
	b, err := ReadFirebot([]File{fbWriteFile(t, t.TempDir(), "quotes.db", quotes)})
	if err != nil {
		t.Fatal(err)
	}
	want := []Quote{{Number: 2, Text: "two, edited", AddedBy: "m"}, {Number: 10, Text: "ten", Date: b.Quotes[len(b.Quotes)-1].Date}}
	if d := cmp.Diff(want, b.Quotes); d != "" {
		t.Errorf("quotes (-want +got):\n%s", d)
	}
	if got := b.Quotes[1].Date.UnixMilli(); got != 1600000000000 {
		t.Errorf("date = %d ms; want 1600000000000", got)
	}
	if len(b.Skipped) != 1 || b.Skipped[0].Category != "quote" {
		t.Errorf("skipped = %+v; want the empty quote", b.Skipped)
	}
}

// FuzzReadFirebotUsers: any users.db is read or refused with a
// *FileError, never a panic, and what is read has a login for every
// balance.
func FuzzReadFirebotUsers(f *testing.F) {
	f.Add(fbProfile["db/users.db"])
	f.Add(`{"$$deleted":true,"_id":1}` + "\n" + `{"_id":1,"username":"x","currency":{"a":1e30}}`)
	f.Add(`{"_id":null}`)
	f.Add("\xef\xbb\xbf{\"_id\":\"1\",\"username\":\"A\",\"minutesInChannel\":-4}")
	f.Fuzz(func(t *testing.T, content string) {
		part := fbPart{name: "users.db", size: int64(len(content)), open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(content)), nil
		}}
		fr := &firebotReader{b: &Bundle{Source: Firebot}, parts: map[firebotKind][]fbPart{fbUsers: {part}}}
		err := fr.read()
		b := fr.b
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v; want a *FileError", err)
			}
			return
		}
		for _, p := range b.Points {
			if p.Login == "" || p.Currency == "" || p.Points > MaxPoints || p.Points < -MaxPoints || p.Seconds < 0 {
				t.Fatalf("bad balance %+v", p)
			}
		}
	})
}

// fbWriteViewers writes a users.db of n viewers with two currencies, with an
// index line, an update for every tenth viewer and a tombstone for every
// hundredth, as Firebot's appends leave it.
func fbWriteViewers(tb testing.TB, dir string, n int) []File {
	tb.Helper()
	p := filepath.Join(dir, "users.db")
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, `{"$$indexCreated":{"fieldName":"username","unique":false,"sparse":false}}`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, `{"username":"viewer%d","_id":"%d","displayName":"Viewer%d","profilePicUrl":"https://static-cdn.example/%d.png","twitch":true,"twitchRoles":[],"online":false,"onlineAt":1700000000000,"lastSeen":1700000000000,"joinDate":1600000000000,"minutesInChannel":%d,"chatMessages":%d,"disableAutoStatAccrual":false,"disableActiveUserList":false,"disableViewerList":false,"metadata":{},"currency":{"c1":%d,"c2":%d},"ranks":{}}`+"\n",
			i, 100000+i, i, i, i%5000+1, i%300, i*7%100000, i%50)
		if i%10 == 9 {
			fmt.Fprintf(w, `{"username":"viewer%d","_id":"%d","minutesInChannel":%d,"currency":{"c1":%d,"c2":1}}`+"\n", i, 100000+i, i%5000+2, i)
		}
		if i%100 == 99 {
			fmt.Fprintf(w, `{"$$deleted":true,"_id":"%d"}`+"\n", 100000+i)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()
	cur := fbWriteFile(tb, dir, "currency.json", `{"c1":{"id":"c1","name":"Coins"},"c2":{"id":"c2","name":"Gems"}}`)
	return []File{{Name: "users.db", Path: p, Size: st.Size()}, cur}
}

func TestReadFirebotManyViewers(t *testing.T) {
	t.Parallel()
	b, err := ReadFirebot(fbWriteViewers(t, t.TempDir(), 2000))
	if err != nil {
		t.Fatal(err)
	}
	viewers := map[string]bool{}
	for _, p := range b.Points {
		viewers[p.Login] = true
	}
	if len(viewers) != 2000-20 {
		t.Fatalf("%d viewers; want 1980 (20 deleted)", len(viewers))
	}
	if viewers["viewer99"] || !viewers["viewer98"] {
		t.Fatalf("viewer99 was deleted, viewer98 was not")
	}
	for _, p := range b.Points {
		if p.Login == "viewer19" && p.Currency == "Gems" && p.Points != 1 {
			t.Fatalf("viewer19's later line says 1 gem, got %d", p.Points)
		}
	}
}

// BenchmarkReadFirebotUsers reads a 100,000-viewer users.db (about 40 MB)
// with its currency file.
func BenchmarkReadFirebotUsers(b *testing.B) {
	files := fbWriteViewers(b, b.TempDir(), 100_000)
	b.SetBytes(files[0].Size)
	b.ReportAllocs()
	// The machine may be shared: report the CPU time each read takes
	// (this process's, garbage collection included) beside the wall time.
	cpu0 := fbCPUTime(b)
	n := 0
	for b.Loop() {
		bundle, err := ReadFirebot(files)
		if err != nil {
			b.Fatal(err)
		}
		if len(bundle.Points) < 99_000 {
			b.Fatalf("%d balances", len(bundle.Points))
		}
		n++
	}
	b.ReportMetric(float64(fbCPUTime(b)-cpu0)/float64(n), "cpu-ns/op")
}

func fbCPUTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
