package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// healthcheckTimeout bounds the whole probe: connecting, the request and
// the answer.
const healthcheckTimeout = 2 * time.Second

// healthcheck runs `waddle healthcheck`: GET /healthz on this instance and
// succeed only on 200. The container image has no shell or curl, so its
// HEALTHCHECK runs this. It reads LISTEN_ADDR alone, not the whole
// configuration, so it works in a container whose secrets it cannot see.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 {
		return &usageError{fmt.Sprintf("healthcheck takes no arguments, got %q", args[0])}
	}
	listen := strings.TrimSpace(getenv("LISTEN_ADDR"))
	if listen == "" {
		listen = defaultListenAddr
	}
	url, err := healthzURL(listen)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s", url, resp.Status)
	}
	fmt.Fprintf(stdout, "ok: GET %s: %s\n", url, resp.Status)
	return nil
}

// healthzURL is the /healthz URL of a server listening on listen: an
// unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") is reached on
// loopback, any other host as it is.
func healthzURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" {
		return "", &configError{"LISTEN_ADDR", fmt.Sprintf("is %q: want host:port such as 127.0.0.1:8080", listen)}
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if err == nil && ip.Is6() {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
