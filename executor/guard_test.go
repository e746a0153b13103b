package executor

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestBlocked(t *testing.T) {
	t.Parallel()
	cases := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"10.0.0.1", true},
		{"172.16.5.4", true},
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"fc00::1", true},
		{"fd12:3456::1", true},
		{"169.254.169.254", true}, // cloud metadata
		{"169.254.0.1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"0.0.0.0", true},
		{"::", true},
		{"224.0.0.1", true},
		{"ff02::1", true},
		{"100.64.0.1", true}, // CGNAT
		{"100.127.255.254", true},
		{"255.255.255.255", true},
		{"::ffff:127.0.0.1", true}, // IPv4-mapped
		{"::ffff:10.1.2.3", true},
		{"::ffff:169.254.169.254", true},
		{"::127.0.0.1", true},           // IPv4-compatible
		{"64:ff9b::7f00:1", true},       // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", true},    // NAT64 of 169.254.169.254
		{"2002:7f00:1::1", true},        // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", true},      // 6to4 of 192.168.1.1
		{"fec0::1", true},               // site-local
		{"8.8.8.8", false},              // public
		{"1.1.1.1", false},              // public
		{"100.63.255.255", false},       // just below CGNAT
		{"172.32.0.1", false},           // just above 172.16/12
		{"::ffff:8.8.8.8", false},       // mapped public
		{"64:ff9b::808:808", false},     // NAT64 of 8.8.8.8
		{"2606:4700:4700::1111", false}, // public IPv6
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			t.Parallel()
			if got := blocked(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("blocked(%s) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
}

func TestGuardDial(t *testing.T) {
	t.Parallel()
	cases := []struct {
		address string
		want    error
	}{
		{"93.184.215.14:443", nil},
		{"[2606:4700:4700::1111]:443", nil},
		{"127.0.0.1:80", ErrBlockedAddress},
		{"[::ffff:169.254.169.254]:80", ErrBlockedAddress},
		{"[fe80::1%eth0]:80", ErrBlockedAddress},
		{"not-an-address", ErrBlockedAddress}, // fail closed
	}
	for _, tc := range cases {
		if err := guardDial("tcp", tc.address, nil); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("guardDial(%s) = %v, want %v", tc.address, err, tc.want)
		}
	}
}

// TestDialGuard calls real local servers with the guard on (AllowPrivate
// false): every call fails with ErrBlockedAddress naming a loopback address,
// and no server receives anything.
func TestDialGuard(t *testing.T) {
	t.Parallel()
	srv := newServer(t, jsonHandler(http.StatusOK, `{}`))
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	cases := []struct {
		name   string
		target Target
	}{
		{name: "webhook on 127.0.0.1", target: webhookTarget(srv.URL + "/hook?token=sekrit")},
		{name: "webhook on a name resolving to loopback", target: webhookTarget("http://localhost:" + port)},
		{name: "webhook on IPv4-mapped loopback", target: webhookTarget("http://[::ffff:127.0.0.1]:" + port)},
		{name: "openwhisk", target: Target{Kind: OpenWhisk, URL: srv.URL, Secret: owUser + ":" + owKey, Action: "echo"}},
		{name: "lambda endpoint override", target: lambdaTarget(srv.URL, "echo")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := New(Config{Breaker: BreakerConfig{Failures: 2}})
			// More calls than the breaker allows failures: refusals say
			// nothing about the target, so its circuit stays closed.
			for range 3 {
				_, err := c.Invoke(context.Background(), tc.target, []byte(`{}`))
				if !errors.Is(err, ErrBlockedAddress) {
					t.Fatalf("err = %v, want ErrBlockedAddress", err)
				}
				if strings.Contains(err.Error(), "sekrit") {
					t.Errorf("err = %v shows the URL's token", err)
				}
				var be *BlockedAddressError
				if !errors.As(err, &be) || !be.Addr.Unmap().IsLoopback() {
					t.Fatalf("err = %v, want a BlockedAddressError naming a loopback address", err)
				}
			}
		})
	}
	t.Cleanup(func() { // after the parallel subtests
		if n := srv.hits.Load(); n != 0 {
			t.Errorf("server got %d requests, want 0", n)
		}
	})
}
