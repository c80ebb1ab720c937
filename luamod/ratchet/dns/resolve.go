// Package dns implements ratchet.dns (spec ratchet.md 2.6): local answers
// for "*", IP literals, localhost and the hosts file first, then queries to
// the resolv.conf servers through github.com/miekg/dns, suspending only the
// calling ratchet thread.
package dns

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
)

// RR types for Go callers (Lookup), so they need not import miekg/dns.
const (
	TypeA     = mdns.TypeA
	TypeAAAA  = mdns.TypeAAAA
	TypeMX    = mdns.TypeMX
	TypePTR   = mdns.TypePTR
	TypeTXT   = mdns.TypeTXT
	TypeCNAME = mdns.TypeCNAME
)

// Query types by their ratchet names.
var typeNames = map[string]uint16{
	"a": mdns.TypeA, "aaaa": mdns.TypeAAAA, "mx": mdns.TypeMX, "ns": mdns.TypeNS,
	"cname": mdns.TypeCNAME, "soa": mdns.TypeSOA, "srv": mdns.TypeSRV,
	"ptr": mdns.TypePTR, "txt": mdns.TypeTXT, "spf": mdns.TypeSPF, "sshfp": mdns.TypeSSHFP,
}

// ParseType maps a ratchet type name (case-insensitive) to its RR type.
func ParseType(s string) (uint16, bool) {
	t, ok := typeNames[strings.ToLower(s)]
	return t, ok
}

// TypeName is the upper-case mnemonic used in messages ("MX").
func TypeName(t uint16) string { return mdns.TypeToString[t] }

// DefaultExpire is the overall time limit of one query.
const DefaultExpire = 10 * time.Second

// MX is one mail exchanger.
type MX struct {
	Preference uint16
	Host       string
}

// SRV is one service record.
type SRV struct {
	Priority, Weight, Port uint16
	Target                 string
}

// SOA is one start-of-authority record.
type SOA struct {
	MName, RName                            string
	Serial, Refresh, Retry, Expire, Minimum uint32
}

// SSHFP is one SSH fingerprint record.
type SSHFP struct {
	Algorithm uint8
	Type      uint8
	Digest    []byte
}

// Answer is a successful lookup; only the slice of the query's type is set.
type Answer struct {
	Type  uint16
	Addrs []netip.Addr // A, AAAA
	Names []string     // NS, CNAME, PTR: fully qualified, trailing dot
	Texts []string     // TXT, SPF: character-strings concatenated
	MX    []MX
	SRV   []SRV
	SOA   []SOA
	SSHFP []SSHFP
}

func (a *Answer) empty() bool {
	return len(a.Addrs)+len(a.Names)+len(a.Texts)+len(a.MX)+len(a.SRV)+len(a.SOA)+len(a.SSHFP) == 0
}

// ErrTimedOut is the failure of a query that ran out of time.
var ErrTimedOut = errors.New("Timed out.")

// NoRecordError is a negative answer ("<name> has no <TYPE> record").
type NoRecordError struct {
	Name string
	Type uint16
}

func (e *NoRecordError) Error() string {
	return e.Name + " has no " + TypeName(e.Type) + " record"
}

// Resolver answers queries with the given configuration.
type Resolver struct {
	Conf   *ResolvConf
	Hosts  *Hosts
	Expire time.Duration // 0: DefaultExpire

	next atomic.Uint32 // rotate offset
}

// literal parses an IP literal (IPv6 may be bracketed).
func literal(name string) (netip.Addr, bool) {
	s := strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone(""), true
}

var (
	loopback4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	loopback6 = netip.IPv6Loopback()
)

// ReverseName returns the in-addr.arpa / ip6.arpa name of a.
func ReverseName(a netip.Addr) string {
	a = a.Unmap()
	var b strings.Builder
	if a.Is4() {
		v := a.As4()
		for i := 3; i >= 0; i-- {
			b.WriteString(itoa(int(v[i])))
			b.WriteByte('.')
		}
		b.WriteString("in-addr.arpa.")
		return b.String()
	}
	v := a.As16()
	const hexd = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b.WriteByte(hexd[v[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hexd[v[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa.")
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d [4]byte
	i := len(d)
	for n > 0 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return string(d[i:])
}

// ParseReverseName turns an in-addr.arpa or ip6.arpa name back into the
// address it stands for. Partial names (networks) are rejected.
func ParseReverseName(name string) (netip.Addr, bool) {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	switch {
	case strings.HasSuffix(n, ".in-addr.arpa"):
		labels := strings.Split(strings.TrimSuffix(n, ".in-addr.arpa"), ".")
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		var v [4]byte
		for i, l := range labels {
			if len(l) == 0 || len(l) > 3 || (len(l) > 1 && l[0] == '0') {
				return netip.Addr{}, false
			}
			x := 0
			for _, c := range l {
				if c < '0' || c > '9' {
					return netip.Addr{}, false
				}
				x = x*10 + int(c-'0')
			}
			if x > 255 {
				return netip.Addr{}, false
			}
			v[3-i] = byte(x)
		}
		return netip.AddrFrom4(v), true
	case strings.HasSuffix(n, ".ip6.arpa"):
		labels := strings.Split(strings.TrimSuffix(n, ".ip6.arpa"), ".")
		if len(labels) != 32 {
			return netip.Addr{}, false
		}
		var v [16]byte
		for i, l := range labels {
			if len(l) != 1 {
				return netip.Addr{}, false
			}
			d, err := hex.DecodeString("0" + l)
			if err != nil {
				return netip.Addr{}, false
			}
			pos := 31 - i // nibble index from the most significant
			if pos%2 == 0 {
				v[pos/2] |= d[0] << 4
			} else {
				v[pos/2] |= d[0]
			}
		}
		return netip.AddrFrom16(v), true
	}
	return netip.Addr{}, false
}

func isLocalhost(name string) bool { return normName(name) == "localhost" }

// Local answers a query without any network traffic when the name is "*",
// an IP literal, localhost or a hosts-file entry. handled is false when the
// DNS servers must be asked. name is the name as given, qtype the RR type;
// for PTR queries the reverse name is returned as well (for the network
// step).
func (r *Resolver) Local(name string, qtype uint16) (ans *Answer, err error, handled bool, qname string) {
	qname = name
	none := &NoRecordError{Name: name, Type: qtype}
	hosts := r.Hosts
	if hosts == nil {
		hosts = &Hosts{}
	}
	if qtype == mdns.TypePTR {
		var addr netip.Addr
		var ok bool
		if strings.Contains(strings.ToLower(name), "arpa") {
			addr, ok = ParseReverseName(name)
		} else if addr, ok = literal(name); ok {
			qname = ReverseName(addr)
		} else if name == "*" {
			return nil, none, true, qname
		}
		if !ok {
			return nil, nil, false, qname
		}
		addr = addr.Unmap()
		var names []string
		if addr == loopback4 || addr == loopback6 {
			names = append(names, "localhost.")
		}
		for _, n := range hosts.Names(addr) {
			if !contains(names, n) {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			return &Answer{Type: qtype, Names: names}, nil, true, qname
		}
		return nil, nil, false, qname
	}

	if name == "*" {
		switch qtype {
		case mdns.TypeA:
			return &Answer{Type: qtype, Addrs: []netip.Addr{netip.IPv4Unspecified()}}, nil, true, qname
		case mdns.TypeAAAA:
			return &Answer{Type: qtype, Addrs: []netip.Addr{netip.IPv6Unspecified()}}, nil, true, qname
		}
		return nil, none, true, qname
	}
	if a, ok := literal(name); ok {
		switch {
		case qtype == mdns.TypeA && a.Is4():
			return &Answer{Type: qtype, Addrs: []netip.Addr{a}}, nil, true, qname
		case qtype == mdns.TypeAAAA && a.Is6():
			return &Answer{Type: qtype, Addrs: []netip.Addr{a}}, nil, true, qname
		}
		return nil, none, true, qname
	}
	if qtype != mdns.TypeA && qtype != mdns.TypeAAAA {
		if isLocalhost(name) {
			return nil, none, true, qname
		}
		return nil, nil, false, qname
	}
	family := 4
	if qtype == mdns.TypeAAAA {
		family = 6
	}
	addrs := hosts.Addrs(name, family)
	if isLocalhost(name) {
		// localhost never leaves the machine. Its AAAA answer comes only
		// from a hosts object the user supplied (spec 2.6 rule 3).
		if family == 6 && !hosts.Explicit {
			addrs = nil
		}
		if family == 4 && len(addrs) == 0 {
			addrs = []netip.Addr{loopback4}
		}
		if len(addrs) == 0 {
			return nil, none, true, qname
		}
	}
	if len(addrs) > 0 {
		return &Answer{Type: qtype, Addrs: addrs}, nil, true, qname
	}
	return nil, nil, false, qname
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// Query resolves name: local answers first, then the DNS servers. The
// error is a *NoRecordError for negative answers, ErrTimedOut when the
// query's time ran out, or another resolver failure.
func (r *Resolver) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	ans, err, handled, qname := r.Local(name, qtype)
	if handled {
		return ans, err
	}
	return r.Network(ctx, name, qname, qtype)
}

// candidates lists the fully qualified names to try for name, applying
// the search list and ndots as the C resolver does.
func (c *ResolvConf) candidates(name string) []string {
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	abs := name + "."
	var searched []string
	for _, d := range c.Search {
		d = strings.Trim(d, ".")
		if d == "" {
			continue
		}
		searched = append(searched, name+"."+d+".")
	}
	if strings.Count(name, ".") >= c.Ndots {
		return append([]string{abs}, searched...)
	}
	return append(searched, abs)
}

// Network asks the configured servers. display is the name used in
// messages, qname the name to query (already a reverse name for PTR).
func (r *Resolver) Network(ctx context.Context, display, qname string, qtype uint16) (*Answer, error) {
	expire := r.Expire
	if expire <= 0 {
		expire = DefaultExpire
	}
	ctx, cancel := context.WithTimeout(ctx, expire)
	defer cancel()
	conf := r.Conf
	if conf == nil {
		conf = NewResolvConf()
	}
	if _, ok := mdns.IsDomainName(qname); !ok || strings.TrimSuffix(qname, ".") == "" {
		return nil, &NoRecordError{Name: display, Type: qtype}
	}
	var firstErr error
	negative := false
	for _, fq := range conf.candidates(qname) {
		resp, err := r.exchange(ctx, conf, fq, qtype)
		if ctx.Err() != nil {
			return nil, ErrTimedOut
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		ans, err := extract(resp, qtype)
		if err != nil {
			return nil, err
		}
		if ans.empty() {
			negative = true
			continue
		}
		return ans, nil
	}
	if negative || firstErr == nil {
		return nil, &NoRecordError{Name: display, Type: qtype}
	}
	return nil, firstErr
}

// RcodeError is a server's refusal or failure to answer.
type RcodeError struct {
	Name  string
	Rcode int
}

func (e *RcodeError) Error() string {
	return e.Name + ": DNS server answered " + mdns.RcodeToString[e.Rcode]
}

// exchange sends one question to the servers in turn, conf.Attempts times
// round, each try limited to conf.Timeout. NXDOMAIN and NOERROR answers
// are returned; server failures move on to the next server.
func (r *Resolver) exchange(ctx context.Context, conf *ResolvConf, fq string, qtype uint16) (*mdns.Msg, error) {
	servers := conf.servers()
	attempts := conf.Attempts
	if attempts < 1 {
		attempts = 1
	}
	timeout := conf.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	start := 0
	if conf.Rotate {
		start = int(r.next.Add(1)) % len(servers)
	}
	m := new(mdns.Msg)
	m.SetQuestion(fq, qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	var lastErr error
	for a := 0; a < attempts; a++ {
		for i := range servers {
			if ctx.Err() != nil {
				return nil, ErrTimedOut
			}
			srv := servers[(start+i)%len(servers)]
			resp, err := exchangeOne(ctx, m, srv, "udp", timeout)
			if err == nil && resp.Truncated {
				resp, err = exchangeOne(ctx, m, srv, "tcp", timeout)
			}
			if err != nil {
				lastErr = err
				continue
			}
			switch resp.Rcode {
			case mdns.RcodeSuccess, mdns.RcodeNameError:
				return resp, nil
			}
			lastErr = &RcodeError{Name: strings.TrimSuffix(fq, "."), Rcode: resp.Rcode}
		}
	}
	var ne net.Error
	if errors.As(lastErr, &ne) && ne.Timeout() {
		return nil, ErrTimedOut
	}
	return nil, lastErr
}

// exchangeOne performs one request/response over network nw. Cancelling
// ctx interrupts it at once (miekg/dns only honours deadlines).
func exchangeOne(ctx context.Context, m *mdns.Msg, server, nw string, timeout time.Duration) (*mdns.Msg, error) {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(tctx, nw, server)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	stop := context.AfterFunc(tctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	if dl, ok := tctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	co := &mdns.Conn{Conn: nc, UDPSize: 4096}
	if err := co.WriteMsg(m); err != nil {
		return nil, err
	}
	for {
		resp, err := co.ReadMsg()
		if err != nil {
			if resp == nil {
				return nil, err
			}
			// A truncated answer may fail to unpack; its header still
			// says to retry over TCP.
			if !resp.Truncated {
				if nw == "udp" {
					continue
				}
				return nil, err
			}
		}
		// Skip stray datagrams: late answers to earlier tries, spoofs.
		if resp.Id != m.Id || len(resp.Question) != 1 ||
			!strings.EqualFold(resp.Question[0].Name, m.Question[0].Name) ||
			resp.Question[0].Qtype != m.Question[0].Qtype {
			if nw == "udp" {
				continue
			}
			return nil, mdns.ErrId
		}
		return resp, nil
	}
}

// UnsupportedDigestError is raised for SSHFP records whose fingerprint is
// not SHA-1 (spec 2.6).
type UnsupportedDigestError struct{}

func (UnsupportedDigestError) Error() string { return "Only SHA1 digests are supported." }

// extract collects the answer-section records of qtype in answer order.
func extract(resp *mdns.Msg, qtype uint16) (*Answer, error) {
	ans := &Answer{Type: qtype}
	if resp.Rcode != mdns.RcodeSuccess {
		return ans, nil
	}
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		switch v := rr.(type) {
		case *mdns.A:
			if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
				ans.Addrs = append(ans.Addrs, a)
			}
		case *mdns.AAAA:
			if a, ok := netip.AddrFromSlice(v.AAAA.To16()); ok {
				ans.Addrs = append(ans.Addrs, a)
			}
		case *mdns.NS:
			ans.Names = append(ans.Names, v.Ns)
		case *mdns.CNAME:
			ans.Names = append(ans.Names, v.Target)
		case *mdns.PTR:
			ans.Names = append(ans.Names, v.Ptr)
		case *mdns.MX:
			ans.MX = append(ans.MX, MX{Preference: v.Preference, Host: v.Mx})
		case *mdns.SRV:
			ans.SRV = append(ans.SRV, SRV{Priority: v.Priority, Weight: v.Weight, Port: v.Port, Target: v.Target})
		case *mdns.SOA:
			ans.SOA = append(ans.SOA, SOA{MName: v.Ns, RName: v.Mbox, Serial: v.Serial,
				Refresh: v.Refresh, Retry: v.Retry, Expire: v.Expire, Minimum: v.Minttl})
		case *mdns.TXT, *mdns.SPF:
			txt, err := rawText(rr)
			if err != nil {
				return nil, err
			}
			ans.Texts = append(ans.Texts, txt)
		case *mdns.SSHFP:
			if v.Type != 1 {
				return nil, UnsupportedDigestError{}
			}
			d, err := hex.DecodeString(v.FingerPrint)
			if err != nil {
				return nil, err
			}
			ans.SSHFP = append(ans.SSHFP, SSHFP{Algorithm: v.Algorithm, Type: v.Type, Digest: d})
		}
	}
	return ans, nil
}

// rawText returns the character-strings of a TXT/SPF record concatenated,
// as raw bytes. miekg/dns keeps them in escaped presentation form, so the
// record is packed back to wire form and its RDATA read directly.
func rawText(rr mdns.RR) (string, error) {
	buf := make([]byte, mdns.Len(rr)+16)
	end, err := mdns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return "", err
	}
	// PackRR sets Rdlength: the RDATA is the tail of the packed record.
	rdlen := int(rr.Header().Rdlength)
	if rdlen > end {
		return "", errors.New("malformed TXT record")
	}
	return ConcatCharStrings(buf[end-rdlen : end])
}

// ConcatCharStrings parses RDATA made of length-prefixed character-strings
// and returns their contents joined without the length bytes.
func ConcatCharStrings(rdata []byte) (string, error) {
	var b strings.Builder
	b.Grow(len(rdata))
	for i := 0; i < len(rdata); {
		l := int(rdata[i])
		i++
		if i+l > len(rdata) {
			return "", errors.New("malformed TXT record")
		}
		b.Write(rdata[i : i+l])
		i += l
	}
	return b.String(), nil
}

// SortedPriorities returns the distinct MX preferences in ascending order.
func SortedPriorities(mx []MX) []uint16 {
	seen := map[uint16]bool{}
	var out []uint16
	for _, m := range mx {
		if !seen[m.Preference] {
			seen[m.Preference] = true
			out = append(out, m.Preference)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
