package dbtest

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RedisServer is a private redis-server process of one test, which the test
// stops and starts again on the same port to see what Waddle does while
// Redis is down. It is killed when the test ends.
type RedisServer struct {
	t    testing.TB
	Addr string // 127.0.0.1:port
	dir  string
	cmd  *exec.Cmd
}

// StartRedisServer starts redis-server (from PATH, else /usr/bin) on a free
// port, without persistence, and waits until it answers.
func StartRedisServer(t testing.TB) *RedisServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &RedisServer{t: t, Addr: addr, dir: t.TempDir()}
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// URL is the server's redis:// URL.
func (s *RedisServer) URL() string { return "redis://" + s.Addr + "/0" }

// Start starts the server again after Stop, on the same port.
func (s *RedisServer) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("redis-server is already running")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		bin = "/usr/bin/redis-server"
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", bin, err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for !s.answers() {
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s did not answer PING within 10s", s.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL, as a crash) and waits until it is gone;
// connections to its port are then refused.
func (s *RedisServer) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// answers reports whether the server answers PING.
func (s *RedisServer) answers() bool {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "+PONG"
}
