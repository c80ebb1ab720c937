package socket

import (
	"errors"
	mdns "github.com/miekg/dns"
	rdns "github.com/slimta-lua/slimta-lua/luamod/ratchet/dns"
	"net"
	"net/netip"
	"strings"

	"github.com/slimta-lua/slimta-lua/kernel"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// Addr is the Go value behind a sockaddr userdata.
type Addr struct {
	SA unix.Sockaddr
}

// String gives the IP text (no port) or the UNIX path, as tostring does.
// An IPv4 peer seen through an IPv6 socket shows as "::ffff:a.b.c.d".
func (a *Addr) String() string { return sockaddrText(a.SA) }

func sockaddrText(sa unix.Sockaddr) string {
	switch v := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(v.Addr).String()
	case *unix.SockaddrInet6:
		ip := netip.AddrFrom16(v.Addr)
		if v.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(v.ZoneId)); err == nil {
				ip = ip.WithZone(ifi.Name)
			}
		}
		return ip.String()
	case *unix.SockaddrUnix:
		return v.Name
	}
	return ""
}

const addrMeta = "ratchet.socket.sockaddr"

func addrMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(addrMeta).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		a, _ := L.CheckUserData(1).Value.(*Addr)
		if a == nil {
			L.Push(lua.LString("sockaddr"))
			return 1
		}
		L.Push(lua.LString(a.String()))
		return 1
	}))
	mt.RawSetString("__metatable", lua.LString("sockaddr"))
	L.G.Registry.RawSetString(addrMeta, mt)
	return mt
}

// PushAddr pushes a sockaddr userdata.
func PushAddr(L *lua.LState, sa unix.Sockaddr) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = &Addr{SA: sa}
	L.SetMetatable(ud, addrMetatable(L))
	L.Push(ud)
	return ud
}

func checkAddr(L *lua.LState, n int, fname string) *Addr {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if a, ok := ud.Value.(*Addr); ok {
			return a
		}
	}
	L.RaiseError("bad argument #%d to '%s' (sockaddr expected, got %s)", n, fname, L.Get(n).Type().String())
	return nil
}

func sockaddrFor(ip netip.Addr, port int) unix.Sockaddr {
	if ip.Is4() {
		return &unix.SockaddrInet4{Addr: ip.As4(), Port: port}
	}
	sa := &unix.SockaddrInet6{Addr: ip.As16(), Port: port}
	if z := ip.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa
}

// ---- name resolution (spec 2.6 rules for prepare_tcp/prepare_udp) ----

// errNoRecord is a negative answer: "<host> has no A record".
type errNoRecord struct{ host, typ string }

func (e errNoRecord) Error() string { return e.host + " has no " + e.typ + " record" }

// hostsPath is the hosts file consulted before DNS (tests may change it).
var hostsPath = "/etc/hosts"

// lookupLocal answers "*", literals, localhost, .invalid and hosts-file
// names without the network. ok=false means "ask DNS".
func lookupLocal(host string, v6 bool) (addrs []netip.Addr, ok bool) {
	if host == "*" {
		if v6 {
			return []netip.Addr{netip.IPv6Unspecified()}, true
		}
		return []netip.Addr{netip.IPv4Unspecified()}, true
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Is4In6() && !v6 {
			ip = ip.Unmap()
		}
		if ip.Is4() != v6 {
			return []netip.Addr{ip}, true
		}
		return nil, true
	}
	name := strings.ToLower(strings.TrimRight(host, "."))
	if name == "localhost" {
		// Rule 3: IPv4 only, so that a no-family lookup gives 127.0.0.1.
		if v6 {
			return nil, true
		}
		return []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}, true
	}
	if name == "invalid" || strings.HasSuffix(name, ".invalid") || name == "" {
		return nil, true // RFC 6761: never resolves
	}
	if all, found := hostsLookup(hostsPath, name); found {
		for _, ip := range all {
			if ip.Is4() != v6 {
				addrs = append(addrs, ip)
			}
		}
		return addrs, true
	}
	return nil, false
}

// resolve returns the first address of the wanted family, asking DNS
// (suspending the calling thread) when no local rule answers.
func resolve(L *lua.LState, host string, v6 bool) (netip.Addr, error) {
	typ := "A"
	if v6 {
		typ = "AAAA"
	}
	addrs, ok := lookupLocal(host, v6)
	if !ok {
		// Everything not answered locally goes through ratchet.dns, so that
		// sockets and DNS queries follow the same resolv.conf (and the same
		// test servers).
		qtype := mdns.TypeA
		if v6 {
			qtype = mdns.TypeAAAA
		}
		ans, err := rdns.Lookup(L, host, qtype)
		if err != nil {
			var nr *rdns.NoRecordError
			if errors.As(err, &nr) {
				return netip.Addr{}, errNoRecord{host, typ}
			}
			return netip.Addr{}, err
		}
		for _, a := range ans.Addrs {
			a = a.Unmap()
			if a.Is4() != v6 {
				addrs = append(addrs, a)
			}
		}
	}
	if len(addrs) == 0 {
		return netip.Addr{}, errNoRecord{host, typ}
	}
	return addrs[0], nil
}

// prepare implements prepare_tcp / prepare_udp.
func prepare(L *lua.LState, stype int, fname string) int {
	host := checkString(L, 1, fname)
	port := int(checkNumber(L, 2, fname))
	fam := L.Get(3)
	var want4, want6 bool
	switch fam {
	case lua.LNil, lua.LString("AF_UNSPEC"):
		want4, want6 = true, true
	case lua.LString("AF_INET"):
		want4 = true
	case lua.LString("AF_INET6"):
		want6 = true
	default:
		L.RaiseError("Unknown socket address family.")
	}
	var ip netip.Addr
	var err4, err6 error
	if want6 {
		ip, err6 = resolve(L, host, true)
	}
	if !ip.IsValid() && want4 {
		ip, err4 = resolve(L, host, false)
	}
	if !ip.IsValid() {
		msg := host
		if err4 != nil {
			msg = err4.Error()
		} else if err6 != nil {
			msg = err6.Error()
		}
		kernel.Raise(L, kernel.Error{Description: "No DNS records: " + msg, Code: "ENOENT", Function: "ratchet.dns.query()"})
	}
	family := unix.AF_INET
	if ip.Is6() {
		family = unix.AF_INET6
	}
	rec := L.CreateTable(0, 5)
	rec.RawSetString("family", lua.LNumber(family))
	rec.RawSetString("socktype", lua.LNumber(stype))
	rec.RawSetString("protocol", lua.LNumber(0))
	rec.RawSetString("host", L.Get(1))
	rec.RawSetString("addr", PushAddr(L, sockaddrFor(ip, port)))
	L.Pop(1)
	L.Push(rec)
	return 1
}

func prepareTCP(L *lua.LState) int {
	return prepare(L, unix.SOCK_STREAM, "ratchet.socket.prepare_tcp")
}

func prepareUDP(L *lua.LState) int {
	return prepare(L, unix.SOCK_DGRAM, "ratchet.socket.prepare_udp")
}

// unixPathMax is sizeof(sun_path) - 1: longer paths are truncated.
const unixPathMax = 107

func prepareUnix(L *lua.LState) int {
	path := checkString(L, 1, "ratchet.socket.prepare_unix")
	if len(path) > unixPathMax {
		path = path[:unixPathMax]
	}
	rec := L.CreateTable(0, 4)
	rec.RawSetString("family", lua.LNumber(unix.AF_UNIX))
	rec.RawSetString("socktype", lua.LNumber(unix.SOCK_STREAM))
	rec.RawSetString("protocol", lua.LNumber(0))
	rec.RawSetString("addr", PushAddr(L, &unix.SockaddrUnix{Name: path}))
	L.Pop(1)
	L.Push(rec)
	return 1
}
