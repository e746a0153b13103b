package platform

import (
	"sync"
	"time"
)

// Bot states shown on the health page.
const (
	StateOff          = "off"          // no credentials configured
	StateStarting     = "starting"     // connecting for the first time
	StateConnected    = "connected"    // connected and handling events
	StateReconnecting = "reconnecting" // lost the connection; retrying with backoff
	StateDegraded     = "degraded"     // running, but something needs an admin (a missing token, a refused scope)
	StateStopped      = "stopped"      // shut down
)

// Status is one bot's state, written by the bot and read by the health page.
type Status struct {
	platform string

	mu      sync.Mutex
	state   string
	detail  string
	since   time.Time
	servers int
	chans   []ChannelStatus
	outbox  *SendQueue
}

// ChannelStatus is one channel a bot serves here and how: the Twitch bot
// says which transport carries each channel's chat, and when it is not the
// preferred one, why.
type ChannelStatus struct {
	Name, Transport, Note string
}

// SetChannels records the channels the bot serves here and their transports.
func (s *Status) SetChannels(c []ChannelStatus) {
	s.mu.Lock()
	s.chans = c
	s.mu.Unlock()
}

// NewStatus returns the status of a platform's bot, off until it starts.
func NewStatus(platform string) *Status {
	return &Status{platform: platform, state: StateOff, detail: "No credentials configured.", since: time.Now()}
}

// Set records a new state and a sentence for the admin ("Connected to 3 channels.").
func (s *Status) Set(state, detail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != state {
		s.since = time.Now()
	}
	s.state, s.detail = state, detail
}

// SetServers records how many channels, guilds or workspaces the bot serves here.
func (s *Status) SetServers(n int) {
	s.mu.Lock()
	s.servers = n
	s.mu.Unlock()
}

// Attach shows the send queue's depth and drops with the bot's state.
func (s *Status) Attach(o *SendQueue) {
	s.mu.Lock()
	s.outbox = o
	s.mu.Unlock()
}

// BotStatus is a snapshot of a Status.
type BotStatus struct {
	Platform string
	State    string
	Detail   string
	Since    time.Time
	Servers  int
	Channels []ChannelStatus // set by bots that say how each channel is served
	Queue    SendQueueStats
}

// Snapshot returns the current state.
func (s *Status) Snapshot() BotStatus {
	s.mu.Lock()
	b := BotStatus{Platform: s.platform, State: s.state, Detail: s.detail, Since: s.since, Servers: s.servers, Channels: s.chans}
	o := s.outbox
	s.mu.Unlock()
	if o != nil {
		b.Queue = o.Stats()
	}
	return b
}
