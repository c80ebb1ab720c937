package dns

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Default system files.
const (
	DefaultResolvConfPath = "/etc/resolv.conf"
	DefaultHostsPath      = "/etc/hosts"
)

// ResolvConf is the resolver configuration read from resolv.conf files.
type ResolvConf struct {
	// Servers are "host:port" addresses. Besides the standard
	// "nameserver IP" form, "nameserver IP#port" and "nameserver
	// [IP]:port" / "nameserver a.b.c.d:port" are accepted, so tests can
	// point the resolver at a server on a random loopback port.
	Servers  []string
	Search   []string
	Ndots    int
	Timeout  time.Duration // per attempt and server
	Attempts int
	Rotate   bool
}

// NewResolvConf returns a configuration with the resolv.conf(5) defaults and
// no servers.
func NewResolvConf() *ResolvConf {
	return &ResolvConf{Ndots: 1, Timeout: 5 * time.Second, Attempts: 2}
}

// clampOpt caps numeric options as the C resolver does (ndots 15, timeout
// 30 s, attempts 5).
func clampOpt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// ParseNameserver turns the argument of a nameserver line into host:port.
func ParseNameserver(s string) (string, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return net.JoinHostPort(a.String(), "53"), true
	}
	if i := strings.LastIndexByte(s, '#'); i > 0 {
		a, err := netip.ParseAddr(s[:i])
		p, perr := strconv.ParseUint(s[i+1:], 10, 16)
		if err == nil && perr == nil && p > 0 {
			return net.JoinHostPort(a.String(), strconv.FormatUint(p, 10)), true
		}
		return "", false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Port() > 0 {
		return ap.String(), true
	}
	return "", false
}

// Parse adds the directives of one resolv.conf file to c. Later files and
// lines override earlier ones for search/domain and options; nameservers
// accumulate. Unknown lines are ignored, as the C resolver does.
func (c *ResolvConf) Parse(data []byte) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 && !strings.HasPrefix(strings.TrimSpace(line), "nameserver") {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				if s, ok := ParseNameserver(f[1]); ok {
					c.Servers = append(c.Servers, s)
				}
			}
		case "domain":
			if len(f) > 1 {
				c.Search = []string{f[1]}
			}
		case "search":
			c.Search = append([]string(nil), f[1:]...)
		case "options":
			for _, o := range f[1:] {
				c.option(o)
			}
		}
	}
}

func (c *ResolvConf) option(o string) {
	name, val, _ := strings.Cut(o, ":")
	n, err := strconv.Atoi(val)
	switch name {
	case "ndots":
		if err == nil {
			c.Ndots = clampOpt(n, 0, 15)
		}
	case "timeout":
		if err == nil {
			c.Timeout = time.Duration(clampOpt(n, 1, 30)) * time.Second
		}
	case "attempts":
		if err == nil {
			c.Attempts = clampOpt(n, 1, 5)
		}
	case "rotate":
		c.Rotate = true
	}
}

// LoadResolvConf reads the given files in order. A missing default file is
// not an error (the C resolver then uses a local server); explicit paths
// must exist.
func LoadResolvConf(paths []string) (*ResolvConf, error) {
	c := NewResolvConf()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, &LoadError{Path: p, Err: err}
		}
		c.Parse(data)
	}
	return c, nil
}

// SystemResolvConf reads /etc/resolv.conf; with no usable server it falls
// back to 127.0.0.1:53 as the C resolver does.
func SystemResolvConf() *ResolvConf {
	c := NewResolvConf()
	if data, err := os.ReadFile(DefaultResolvConfPath); err == nil {
		c.Parse(data)
	}
	return c
}

// servers returns the configured servers, or the local default.
func (c *ResolvConf) servers() []string {
	if len(c.Servers) == 0 {
		return []string{"127.0.0.1:53"}
	}
	return c.Servers
}

// LoadError is a failure to read a configuration file.
type LoadError struct {
	Path string
	Err  error
}

func (e *LoadError) Error() string { return e.Path + ": " + reason(e.Err) }

// reason gives the strerror-style text of a file error.
func reason(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en.Error()
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// HostEntry is one line of a hosts file.
type HostEntry struct {
	Addr  netip.Addr
	Names []string // as written; compared case-insensitively
}

// Hosts is the content of one or more hosts files, in file order.
type Hosts struct {
	Entries []HostEntry
	// Explicit is set for hosts objects built by the user from given
	// paths: only those may give localhost an AAAA answer (spec 2.6).
	Explicit bool
}

// Parse appends the entries of one hosts file.
func (h *Hosts) Parse(data []byte) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		h.Entries = append(h.Entries, HostEntry{Addr: a.WithZone(""), Names: f[1:]})
	}
}

// LoadHosts reads the given hosts files in order.
func LoadHosts(paths []string) (*Hosts, error) {
	h := &Hosts{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, &LoadError{Path: p, Err: err}
		}
		h.Parse(data)
	}
	return h, nil
}

// SystemHosts reads /etc/hosts (empty when unreadable).
func SystemHosts() *Hosts {
	h := &Hosts{}
	if data, err := os.ReadFile(DefaultHostsPath); err == nil {
		h.Parse(data)
	}
	return h
}

// normName lower-cases a name and drops one trailing dot for comparisons.
func normName(s string) string {
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// Addrs returns every address of the wanted family (4 or 6) listed for
// name, in file order.
func (h *Hosts) Addrs(name string, family int) []netip.Addr {
	n := normName(name)
	var out []netip.Addr
	for _, e := range h.Entries {
		if (family == 4) != e.Addr.Is4() {
			continue
		}
		for _, nm := range e.Names {
			if normName(nm) == n {
				out = append(out, e.Addr)
				break
			}
		}
	}
	return out
}

// Names returns the first name of every line listing addr, anchored with
// a trailing dot, in file order.
func (h *Hosts) Names(addr netip.Addr) []string {
	var out []string
	for _, e := range h.Entries {
		if e.Addr == addr.WithZone("") {
			out = append(out, anchor(e.Names[0]))
		}
	}
	return out
}

func anchor(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}
