// Package dnstest runs a loopback DNS server built on miekg/dns for tests of
// ratchet.dns and of code that resolves names through it.
package dnstest

import (
	"net"
	"strconv"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// TestServer is a loopback DNS server for tests: it answers from Zone over
// UDP and TCP on the same 127.0.0.1 port. Names listed in Silent are never
// answered (to exercise timeouts); names in Fail get SERVFAIL.
type TestServer struct {
	Addr string // "127.0.0.1:port"

	mu      sync.Mutex
	zone    map[string][]mdns.RR // key: lower-case FQDN
	silent  map[string]bool
	fail    map[string]bool
	queries int

	udp, tcp *mdns.Server
}

// StartTestServer starts a server for the records given in zone-file
// syntax ("mail.test. 60 IN MX 10 mx1.test.").
func StartTestServer(records ...string) (*TestServer, error) {
	s := &TestServer{zone: map[string][]mdns.RR{}, silent: map[string]bool{}, fail: map[string]bool{}}
	for _, r := range records {
		if err := s.Add(r); err != nil {
			return nil, err
		}
	}
	var lastErr error
	// Find a port free for both UDP and TCP.
	for i := 0; i < 20; i++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			pc.Close()
			lastErr = err
			continue
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.udp = &mdns.Server{PacketConn: pc, Handler: s}
		s.tcp = &mdns.Server{Listener: l, Handler: s}
		started := make(chan struct{}, 2)
		s.udp.NotifyStartedFunc = func() { started <- struct{}{} }
		s.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
		go func() { _ = s.udp.ActivateAndServe() }()
		go func() { _ = s.tcp.ActivateAndServe() }()
		for k := 0; k < 2; k++ {
			select {
			case <-started:
			case <-time.After(5 * time.Second):
			}
		}
		return s, nil
	}
	return nil, lastErr
}

// Add adds one record in zone-file syntax.
func (s *TestServer) Add(record string) error {
	rr, err := mdns.NewRR(record)
	if err != nil {
		return err
	}
	s.AddRR(rr)
	return nil
}

// AddRR adds one record.
func (s *TestServer) AddRR(rr mdns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := mdns.CanonicalName(rr.Header().Name)
	s.zone[k] = append(s.zone[k], rr)
}

// Silence makes the server drop every query for name.
func (s *TestServer) Silence(name string) {
	s.mu.Lock()
	s.silent[mdns.CanonicalName(name)] = true
	s.mu.Unlock()
}

// Fail makes the server answer SERVFAIL for name.
func (s *TestServer) Fail(name string) {
	s.mu.Lock()
	s.fail[mdns.CanonicalName(name)] = true
	s.mu.Unlock()
}

// Queries returns how many queries arrived so far.
func (s *TestServer) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

// ServeDNS implements mdns.Handler.
func (s *TestServer) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	s.mu.Lock()
	s.queries++
	if len(req.Question) != 1 {
		s.mu.Unlock()
		return
	}
	q := req.Question[0]
	name := mdns.CanonicalName(q.Name)
	silent, fail := s.silent[name], s.fail[name]
	rrs, exists := s.zone[name]
	var answer []mdns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == q.Qtype || (rr.Header().Rrtype == mdns.TypeCNAME && q.Qtype != mdns.TypeCNAME) {
			answer = append(answer, mdns.Copy(rr))
		}
	}
	s.mu.Unlock()
	if silent {
		return
	}
	m := new(mdns.Msg)
	m.SetReply(req)
	switch {
	case fail:
		m.Rcode = mdns.RcodeServerFailure
	case !exists:
		m.Rcode = mdns.RcodeNameError
	default:
		m.Answer = answer
	}
	_, isUDP := w.RemoteAddr().(*net.UDPAddr)
	if isUDP {
		size := 512
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// Close stops the server.
func (s *TestServer) Close() {
	_ = s.udp.Shutdown()
	_ = s.tcp.Shutdown()
}

// ResolvConf returns resolv.conf text that points at the server, followed
// by the extra lines given (for example "options timeout:1 attempts:1").
func (s *TestServer) ResolvConf(extra ...string) string {
	host, port, _ := net.SplitHostPort(s.Addr)
	text := "nameserver " + host + "#" + port + "\n"
	for _, e := range extra {
		text += e + "\n"
	}
	return text
}
