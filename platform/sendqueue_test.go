package platform

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// recorder collects what a send queue sent, in order.
type recorder struct {
	mu   sync.Mutex
	sent []string
	at   []time.Time
}

func (r *recorder) send(msg string) func(context.Context) error {
	return func(context.Context) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.sent = append(r.sent, msg)
		r.at = append(r.at, time.Now())
		return nil
	}
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sent...)
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func runQueue(t *testing.T, o *SendQueue) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return cancel
}

func TestSendQueueKeepsOrderWithinBudget(t *testing.T) {
	t.Parallel()
	o := NewSendQueue(SendQueueConfig{Platform: "twitch", Windows: func(ch string) []Window {
		return []Window{{Key: "channel:" + ch, N: 2, Per: 200 * time.Millisecond}}
	}})
	runQueue(t, o)
	var r recorder
	for i := range 6 {
		if err := o.Send("#ducks", High, r.send(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "6 messages sent", func() bool { return len(r.got()) == 6 })
	if got := fmt.Sprint(r.got()); got != "[0 1 2 3 4 5]" {
		t.Errorf("sent %s, want in order", got)
	}
	// Within any 200 ms at most 2 were sent: the 3rd is at least 200 ms after the 1st.
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 2; i < len(r.at); i++ {
		if d := r.at[i].Sub(r.at[i-2]); d < 195*time.Millisecond {
			t.Errorf("messages %d and %d only %s apart: the window allows 2 per 200ms", i-2, i, d)
		}
	}
	if s := o.Stats(); s.Sent != 6 || s.Depth != 0 || s.Dropped != 0 {
		t.Errorf("stats %+v, want 6 sent, nothing queued or dropped", s)
	}
}

func TestSendQueueSharedAccountWindow(t *testing.T) {
	t.Parallel()
	// Two channels share one account budget of 3 per 300 ms.
	o := NewSendQueue(SendQueueConfig{Platform: "twitch", Windows: func(string) []Window {
		return []Window{{Key: "account", N: 3, Per: 300 * time.Millisecond}}
	}})
	runQueue(t, o)
	var r recorder
	for i := range 3 {
		o.Send("#a", High, r.send(fmt.Sprint("a", i)))
		o.Send("#b", High, r.send(fmt.Sprint("b", i)))
	}
	eventually(t, "6 messages sent", func() bool { return len(r.got()) == 6 })
	r.mu.Lock()
	defer r.mu.Unlock()
	if d := r.at[3].Sub(r.at[0]); d < 295*time.Millisecond {
		t.Errorf("the 4th send came %s after the 1st: the account allows 3 per 300ms", d)
	}
}

func TestSendQueueFullDropsOldestLow(t *testing.T) {
	t.Parallel()
	o := NewSendQueue(SendQueueConfig{Platform: "slack", Capacity: 3})
	var r recorder
	// Not running yet: everything stays queued.
	o.Send("c", Low, r.send("low1"))
	o.Send("c", High, r.send("high1"))
	o.Send("c", Low, r.send("low2"))
	if err := o.Send("c", High, r.send("high2")); err != nil {
		t.Fatalf("a high message into a queue holding low ones: %v", err)
	}
	if s := o.Stats(); s.Depth != 3 || s.Dropped != 1 {
		t.Fatalf("stats %+v, want 3 queued and 1 dropped", s)
	}
	o.Send("c", High, r.send("high3")) // drops low2
	if err := o.Send("c", Low, r.send("low3")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a low message into a queue of high ones: %v, want ErrQueueFull", err)
	}
	runQueue(t, o)
	eventually(t, "queue sent", func() bool { return len(r.got()) == 3 })
	if got := fmt.Sprint(r.got()); got != "[high1 high2 high3]" {
		t.Errorf("sent %s, want the high messages in order", got)
	}
	if s := o.Stats(); s.Dropped != 3 {
		t.Errorf("dropped %d, want 3 counted", s.Dropped)
	}
}

func TestSendQueueRetryAfter(t *testing.T) {
	t.Parallel()
	o := NewSendQueue(SendQueueConfig{Platform: "discord"})
	runQueue(t, o)
	var r recorder
	var mu sync.Mutex
	tries := 0
	first := time.Now()
	o.Send("c", High, func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		tries++
		if tries == 1 {
			return fmt.Errorf("post: %w", &RetryAfter{Wait: 150 * time.Millisecond})
		}
		return r.send("hello")(ctx)
	})
	o.Send("c", High, r.send("second"))
	eventually(t, "both sent", func() bool { return len(r.got()) == 2 })
	if got := fmt.Sprint(r.got()); got != "[hello second]" {
		t.Errorf("sent %s: the rate-limited message must stay first", got)
	}
	r.mu.Lock()
	waited := r.at[0].Sub(first)
	r.mu.Unlock()
	if waited < 145*time.Millisecond {
		t.Errorf("retried after %s, before Retry-After", waited)
	}
	if s := o.Stats(); s.RateLimited != 1 || s.Sent != 2 || s.Failed != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestSendQueueFailuresAndPanicsAreCounted(t *testing.T) {
	t.Parallel()
	o := NewSendQueue(SendQueueConfig{Platform: "slack", MaxAttempts: 2})
	runQueue(t, o)
	var r recorder
	o.Send("c", High, func(context.Context) error { return errors.New("channel_not_found") })
	o.Send("c", High, func(context.Context) error { panic("bad") })
	o.Send("c", High, func(context.Context) error { return &RetryAfter{Wait: time.Millisecond} })
	o.Send("c", High, r.send("after"))
	eventually(t, "last sent", func() bool { return len(r.got()) == 1 })
	if s := o.Stats(); s.Failed != 3 || s.Sent != 1 || s.RateLimited != 2 {
		t.Errorf("stats %+v, want 3 failed (error, panic, rate limited twice), 1 sent", s)
	}
}

func TestSendQueueShutdownDrains(t *testing.T) {
	t.Parallel()
	o := NewSendQueue(SendQueueConfig{Platform: "twitch", DrainTimeout: 2 * time.Second, Windows: func(string) []Window {
		return []Window{{Key: "c", N: 1, Per: 50 * time.Millisecond}}
	}})
	var r recorder
	for i := range 5 {
		o.Send("c", High, r.send(fmt.Sprint(i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // shut down at once: what is queued still goes out within DrainTimeout
	o.Run(ctx)
	if got := len(r.got()); got != 5 {
		t.Errorf("sent %d of 5 queued before shutdown", got)
	}
	if err := o.Send("c", High, r.send("late")); !errors.Is(err, ErrQueueClosed) {
		t.Errorf("send after shutdown: %v, want ErrQueueClosed", err)
	}
}

func TestSendQueueShutdownCountsWhatIsLeft(t *testing.T) {
	t.Parallel()
	o := NewSendQueue(SendQueueConfig{Platform: "twitch", DrainTimeout: 100 * time.Millisecond, Windows: func(string) []Window {
		return []Window{{Key: "c", N: 1, Per: time.Hour}}
	}})
	var r recorder
	for i := range 4 {
		o.Send("c", High, r.send(fmt.Sprint(i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o.Run(ctx)
	if s := o.Stats(); len(r.got()) != 1 || s.Dropped != 3 || s.Depth != 0 {
		t.Errorf("sent %d, stats %+v: want 1 sent and 3 counted dropped", len(r.got()), s)
	}
}

func TestCollectorExportsQueues(t *testing.T) {
	t.Parallel()
	st := NewStatus("slack")
	o := NewSendQueue(SendQueueConfig{Platform: "slack", Capacity: 1})
	st.Attach(o)
	st.Set(StateConnected, "ok")
	o.Send("c", Low, func(context.Context) error { return nil })
	o.Send("c", Low, func(context.Context) error { return nil }) // drops the first
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(st))
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() != "slack" {
				t.Errorf("%s labelled %v", mf.GetName(), m.GetLabel())
			}
			name := mf.GetName()
			if len(m.GetLabel()) > 1 { // waddle_bot_state{platform, state}
				name += "/" + m.GetLabel()[1].GetValue()
			}
			got[name] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	if got["waddle_outbox_depth"] != 1 || got["waddle_outbox_dropped_total"] != 1 || got["waddle_bot_connected"] != 1 {
		t.Errorf("metrics %v", got)
	}
	for _, s := range states {
		want := 0.0
		if s == StateConnected {
			want = 1
		}
		if v, ok := got["waddle_bot_state/"+s]; !ok || v != want {
			t.Errorf("waddle_bot_state{state=%q} = %v (present %v), want %v", s, v, ok, want)
		}
	}
}

func TestSendQueueDeletesEmptyWindowKeys(t *testing.T) {
	t.Parallel()
	per := 20 * time.Millisecond
	o := NewSendQueue(SendQueueConfig{Platform: "twitch", Windows: func(ch string) []Window {
		if ch == "flush" {
			return nil
		}
		return []Window{{Key: "channel:" + ch, N: 1, Per: per}, {Key: "account", N: 100, Per: per}}
	}})
	// freeAt deletes a key once its window holds no send.
	now := time.Now()
	o.mu.Lock()
	o.log["channel:#a"] = &sendLog{per: per, times: []time.Time{now}}
	if at := o.freeAt(Window{Key: "channel:#a", N: 1, Per: per}, now); !at.Equal(now.Add(per)) {
		t.Errorf("freeAt with the window full: %v, want %v", at, now.Add(per))
	}
	if at := o.freeAt(Window{Key: "channel:#a", N: 1, Per: per}, now.Add(per)); !at.IsZero() {
		t.Errorf("freeAt after the period: %v, want now", at)
	}
	_, kept := o.log["channel:#a"]
	o.mu.Unlock()
	if kept {
		t.Error("window key kept after its last send left the period")
	}

	// Channels that stop sending lose their keys too.
	runQueue(t, o)
	var r recorder
	for i := range 20 {
		if err := o.Send(fmt.Sprint("#c", i), High, r.send(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "20 messages sent", func() bool { return len(r.got()) == 20 })
	o.mu.Lock()
	if n := len(o.log); n != 21 {
		t.Errorf("%d window keys after sends in 20 channels, want 21 (20 channels and the account)", n)
	}
	o.mu.Unlock()
	time.Sleep(per)
	o.mu.Lock()
	o.swept = time.Time{} // the next dispatch sweeps
	o.mu.Unlock()
	o.Send("flush", High, r.send("flush"))
	eventually(t, "window keys deleted", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.log) == 0
	})
}

// drops records the errors a send queue reported dropped messages with.
type drops struct {
	mu   sync.Mutex
	errs map[string]error
}

func (d *drops) of(msg string) func(error) {
	return func(err error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.errs == nil {
			d.errs = map[string]error{}
		}
		if _, twice := d.errs[msg]; twice {
			panic("dropped twice: " + msg)
		}
		d.errs[msg] = err
	}
}

func (d *drops) get() map[string]error {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]error{}
	for k, v := range d.errs {
		out[k] = v
	}
	return out
}

func TestSendQueueNotifiesDrops(t *testing.T) {
	t.Parallel()
	t.Run("full", func(t *testing.T) {
		t.Parallel()
		o := NewSendQueue(SendQueueConfig{Platform: "slack", Capacity: 2})
		var r recorder
		var d drops
		o.SendNotify("c", Low, r.send("low"), d.of("low"))
		o.SendNotify("c", High, r.send("high1"), d.of("high1"))
		o.SendNotify("c", High, r.send("high2"), d.of("high2")) // pushes out low
		o.SendNotify("c", High, r.send("high3"), d.of("high3")) // pushes out high1
		if err := o.SendNotify("c", Low, r.send("low2"), d.of("low2")); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("low into a queue of high: %v, want ErrQueueFull", err)
		}
		got := d.get()
		if len(got) != 2 || !errors.Is(got["low"], ErrQueueFull) || !errors.Is(got["high1"], ErrQueueFull) {
			t.Fatalf("drops %v, want low and high1 with ErrQueueFull (low2 is refused by its own call)", got)
		}
		runQueue(t, o)
		eventually(t, "queue sent", func() bool { return len(r.got()) == 2 })
		if got := d.get(); len(got) != 2 {
			t.Errorf("drops %v after sending, want still the 2", got)
		}
	})
	t.Run("left at shutdown", func(t *testing.T) {
		t.Parallel()
		o := NewSendQueue(SendQueueConfig{Platform: "slack", DrainTimeout: 50 * time.Millisecond, Windows: func(string) []Window {
			return []Window{{Key: "c", N: 1, Per: time.Hour}}
		}})
		var r recorder
		var d drops
		for i := range 3 {
			o.SendNotify("c", High, r.send(fmt.Sprint(i)), d.of(fmt.Sprint(i)))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		o.Run(ctx)
		got := d.get()
		if len(r.got()) != 1 || len(got) != 2 || !errors.Is(got["1"], ErrQueueClosed) || !errors.Is(got["2"], ErrQueueClosed) {
			t.Errorf("sent %v, drops %v: want 1 sent and 1 and 2 dropped with ErrQueueClosed", r.got(), got)
		}
	})
	t.Run("rate limited until given up", func(t *testing.T) {
		t.Parallel()
		o := NewSendQueue(SendQueueConfig{Platform: "slack", MaxAttempts: 2})
		runQueue(t, o)
		var d drops
		o.SendNotify("c", High, func(context.Context) error { return &RetryAfter{Wait: time.Millisecond} }, d.of("limited"))
		o.SendNotify("c", High, func(context.Context) error { return errors.New("channel_not_found") }, d.of("failed"))
		eventually(t, "the rate-limited message given up", func() bool { return len(d.get()) == 1 })
		var ra *RetryAfter
		if got := d.get(); !errors.As(got["limited"], &ra) {
			t.Errorf("drops %v, want the rate-limited message with its RetryAfter", got)
		}
		eventually(t, "the failed message counted", func() bool { return o.Stats().Failed == 2 })
		if got := d.get(); len(got) != 1 {
			t.Errorf("drops %v: a message its send answered is not dropped", got)
		}
	})
}
