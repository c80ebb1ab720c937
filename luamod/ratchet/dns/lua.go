package dns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	lua "github.com/yuin/gopher-lua"

	mdns "github.com/miekg/dns"
)

const (
	defaultsKey   = "ratchet.dns.defaults"
	addrMetaKey   = "ratchet.dns.address"
	mxMetaKey     = "ratchet.dns.mx"
	hostsMetaKey  = "ratchet.dns.hosts"
	rconfMetaKey  = "ratchet.dns.resolv_conf"
	queryFunction = "ratchet.dns.query()"
)

// defaults are the configuration objects used when a query gets none; they
// are read once per Lua universe, when ratchet.dns is first loaded.
type defaults struct {
	mu    sync.Mutex
	conf  *ResolvConf
	hosts *Hosts
}

func defaultsOf(L *lua.LState) *defaults {
	if ud, ok := L.G.Registry.RawGetString(defaultsKey).(*lua.LUserData); ok {
		return ud.Value.(*defaults)
	}
	d := &defaults{conf: SystemResolvConf(), hosts: SystemHosts()}
	ud := L.NewUserData()
	ud.Value = d
	L.G.Registry.RawSetString(defaultsKey, ud)
	return d
}

func (d *defaults) get() (*ResolvConf, *Hosts) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conf, d.hosts
}

// SetDefaults replaces the configuration that queries without explicit
// resolv_conf/hosts objects use in L's universe (for embedders and tests);
// nil leaves a part unchanged.
func SetDefaults(L *lua.LState, conf *ResolvConf, hosts *Hosts) {
	d := defaultsOf(L)
	d.mu.Lock()
	defer d.mu.Unlock()
	if conf != nil {
		d.conf = conf
	}
	if hosts != nil {
		d.hosts = hosts
	}
}

// Lookup resolves name as ratchet.dns.query does with the default
// configuration: local answers at once, otherwise the DNS servers are
// asked while only the calling ratchet thread waits (synchronously from
// main). Other native modules (socket.prepare_tcp) use it.
func Lookup(L *lua.LState, name string, qtype uint16) (*Answer, error) {
	conf, hosts := defaultsOf(L).get()
	r := &Resolver{Conf: conf, Hosts: hosts}
	return r.resolve(L, name, qtype)
}

// resolve answers locally when possible, else blocks the calling thread.
func (r *Resolver) resolve(L *lua.LState, name string, qtype uint16) (*Answer, error) {
	ans, err, handled, qname := r.Local(name, qtype)
	if handled {
		return ans, err
	}
	blockCtx(L, func(ctx context.Context) {
		ans, err = r.Network(ctx, name, qname, qtype)
	})
	return ans, err
}

// blockCtx runs fn inside kernel.Block with a context cancelled when the
// calling thread is killed or the runtime stops.
func blockCtx(L *lua.LState, fn func(ctx context.Context)) {
	kernel.Block(L, func(cancel <-chan struct{}) {
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		go func() {
			select {
			case <-cancel:
				stop()
			case <-ctx.Done():
			}
		}()
		fn(ctx)
	}, nil)
}

// Open builds the ratchet.dns table.
func Open(L *lua.LState) *lua.LTable {
	defaultsOf(L)
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"query":     luaQuery,
		"query_all": luaQueryAll,
	})
	return t
}

// OpenHosts builds ratchet.dns.hosts.
func OpenHosts(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("new", L.NewFunction(hostsNew))
	return t
}

// OpenResolvConf builds ratchet.dns.resolv_conf.
func OpenResolvConf(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("new", L.NewFunction(resolvConfNew))
	return t
}

// pathsArg reads an optional array of paths (a single string is accepted).
func pathsArg(L *lua.LState, fname string) ([]string, bool) {
	switch v := L.Get(1).(type) {
	case *lua.LNilType:
		return nil, false
	case lua.LString:
		return []string{string(v)}, true
	case *lua.LTable:
		var out []string
		for i := 1; ; i++ {
			p := v.RawGetInt(i)
			if p == lua.LNil {
				break
			}
			s, ok := p.(lua.LString)
			if !ok {
				luaarg.ArgError(L, 1, fname, fmt.Sprintf("path %d is not a string", i))
			}
			out = append(out, string(s))
		}
		return out, true
	}
	luaarg.ArgError(L, 1, fname, "table of paths expected, got "+luaarg.TypeName(L, 1))
	return nil, false
}

func hostsNew(L *lua.LState) int {
	paths, given := pathsArg(L, "ratchet.dns.hosts.new")
	var h *Hosts
	if !given {
		h = SystemHosts()
	} else {
		var err error
		if h, err = LoadHosts(paths); err != nil {
			kernel.Raise(L, kernel.Error{Description: err.Error(), Function: "ratchet.dns.hosts.new()"})
		}
	}
	L.Push(newObject(L, h, hostsMetaKey, "ratchet.dns.hosts"))
	return 1
}

func resolvConfNew(L *lua.LState) int {
	paths, given := pathsArg(L, "ratchet.dns.resolv_conf.new")
	var c *ResolvConf
	if !given {
		c = SystemResolvConf()
	} else {
		var err error
		if c, err = LoadResolvConf(paths); err != nil {
			kernel.Raise(L, kernel.Error{Description: err.Error(), Function: "ratchet.dns.resolv_conf.new()"})
		}
	}
	L.Push(newObject(L, c, rconfMetaKey, "ratchet.dns.resolv_conf"))
	return 1
}

func newObject(L *lua.LState, v any, key, label string) *lua.LUserData {
	mt, ok := L.G.Registry.RawGetString(key).(*lua.LTable)
	if !ok {
		mt = L.NewTable()
		mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LString(fmt.Sprintf("%s: %p", label, L.CheckUserData(1).Value)))
			return 1
		}))
		L.G.Registry.RawSetString(key, mt)
	}
	ud := L.NewUserData()
	ud.Value = v
	L.SetMetatable(ud, mt)
	return ud
}

// resolverArgs reads (resolv_conf, hosts, expire) starting at argument n.
func resolverArgs(L *lua.LState, n int, fname string) *Resolver {
	conf, hosts := defaultsOf(L).get()
	r := &Resolver{Conf: conf, Hosts: hosts, Expire: DefaultExpire}
	if v := L.Get(n); v != lua.LNil {
		c, ok := userValue(v).(*ResolvConf)
		if !ok {
			luaarg.ArgError(L, n, fname, "resolv_conf object expected, got "+luaarg.TypeName(L, n))
		}
		r.Conf = c
	}
	if v := L.Get(n + 1); v != lua.LNil {
		h, ok := userValue(v).(*Hosts)
		if !ok {
			luaarg.ArgError(L, n+1, fname, "hosts object expected, got "+luaarg.TypeName(L, n+1))
		}
		explicit := *h
		explicit.Explicit = true
		r.Hosts = &explicit
	}
	if L.Get(n+2) != lua.LNil {
		secs := luaarg.CheckNumber(L, n+2, fname)
		if secs <= 0 {
			// Already expired: network queries fail at once.
			r.Expire = time.Nanosecond
		} else {
			r.Expire = time.Duration(secs * float64(time.Second))
		}
	}
	return r
}

func userValue(v lua.LValue) any {
	if ud, ok := v.(*lua.LUserData); ok {
		return ud.Value
	}
	return nil
}

func checkType(L *lua.LState, v lua.LValue, n int, fname string) uint16 {
	s, ok := v.(lua.LString)
	if !ok {
		luaarg.ArgError(L, n, fname, "string expected, got "+v.Type().String())
	}
	t, ok := ParseType(string(s))
	if !ok {
		L.RaiseError("unknown DNS query type: %s", string(s))
	}
	return t
}

func luaQuery(L *lua.LState) int {
	const fname = "ratchet.dns.query"
	name := luaarg.CheckString(L, 1, fname)
	if L.GetTop() < 2 || L.Get(2) == lua.LNil {
		luaarg.ArgError(L, 2, fname, "string expected, got "+luaarg.TypeName(L, 2))
	}
	qtype := checkType(L, L.Get(2), 2, fname)
	r := resolverArgs(L, 3, fname)
	ans, err := r.resolve(L, name, qtype)
	return pushResult(L, ans, err)
}

func pushResult(L *lua.LState, ans *Answer, err error) int {
	if err != nil {
		raiseIfFatal(L, err)
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(AnswerToLua(L, ans))
	return 1
}

// raiseIfFatal raises the errors that the spec makes exceptions rather
// than failure messages.
func raiseIfFatal(L *lua.LState, err error) {
	var ud UnsupportedDigestError
	if errors.As(err, &ud) {
		kernel.Raise(L, kernel.Error{Description: ud.Error(), Code: "EINVAL", Function: queryFunction})
	}
}

func luaQueryAll(L *lua.LState) int {
	const fname = "ratchet.dns.query_all"
	name := luaarg.CheckString(L, 1, fname)
	types := luaarg.CheckTable(L, 2, fname)
	r := resolverArgs(L, 3, fname)

	type job struct {
		key   lua.LValue
		qtype uint16
		qname string
		ans   *Answer
		err   error
	}
	var jobs []*job
	var pending []*job
	for i := 1; ; i++ {
		v := types.RawGetInt(i)
		if v == lua.LNil {
			break
		}
		j := &job{key: v, qtype: checkType(L, v, 2, fname)}
		var handled bool
		j.ans, j.err, handled, j.qname = r.Local(name, j.qtype)
		jobs = append(jobs, j)
		if !handled {
			pending = append(pending, j)
		}
	}
	if len(pending) > 0 {
		blockCtx(L, func(ctx context.Context) {
			var wg sync.WaitGroup
			for _, j := range pending {
				wg.Add(1)
				go func(j *job) {
					defer wg.Done()
					j.ans, j.err = r.Network(ctx, name, j.qname, j.qtype)
				}(j)
			}
			wg.Wait()
		})
	}
	out := L.NewTable()
	for _, j := range jobs {
		key := lua.LVAsString(j.key)
		if j.err != nil {
			raiseIfFatal(L, j.err)
			out.RawSetString(key+"_error", lua.LString(j.err.Error()))
			continue
		}
		out.RawSetString(key, AnswerToLua(L, j.ans))
	}
	L.Push(out)
	return 1
}

// AddressValue wraps an address as the userdata A/AAAA results contain;
// its Value is the netip.Addr and tostring gives the address text.
func AddressValue(L *lua.LState, a netip.Addr) *lua.LUserData {
	mt, ok := L.G.Registry.RawGetString(addrMetaKey).(*lua.LTable)
	if !ok {
		mt = L.NewTable()
		mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
			a, _ := L.CheckUserData(1).Value.(netip.Addr)
			L.Push(lua.LString(a.String()))
			return 1
		}))
		mt.RawSetString("__eq", L.NewFunction(func(L *lua.LState) int {
			a, _ := L.CheckUserData(1).Value.(netip.Addr)
			b, _ := L.CheckUserData(2).Value.(netip.Addr)
			L.Push(lua.LBool(a == b))
			return 1
		}))
		L.G.Registry.RawSetString(addrMetaKey, mt)
	}
	ud := L.NewUserData()
	ud.Value = a
	L.SetMetatable(ud, mt)
	return ud
}

// AnswerToLua converts an answer to the result shape of spec 2.6.
func AnswerToLua(L *lua.LState, a *Answer) lua.LValue {
	t := L.NewTable()
	switch a.Type {
	case mdns.TypeA, mdns.TypeAAAA:
		for _, x := range a.Addrs {
			t.Append(AddressValue(L, x))
		}
	case mdns.TypeNS, mdns.TypeCNAME, mdns.TypePTR:
		for _, x := range a.Names {
			t.Append(lua.LString(x))
		}
	case mdns.TypeTXT, mdns.TypeSPF:
		for _, x := range a.Texts {
			t.Append(lua.LString(x))
		}
	case mdns.TypeSRV:
		for _, x := range a.SRV {
			e := L.CreateTable(0, 4)
			e.RawSetString("priority", lua.LNumber(x.Priority))
			e.RawSetString("weight", lua.LNumber(x.Weight))
			e.RawSetString("port", lua.LNumber(x.Port))
			e.RawSetString("target", lua.LString(x.Target))
			t.Append(e)
		}
	case mdns.TypeSOA:
		for _, x := range a.SOA {
			e := L.CreateTable(0, 7)
			e.RawSetString("mname", lua.LString(x.MName))
			e.RawSetString("rname", lua.LString(x.RName))
			e.RawSetString("serial", lua.LNumber(x.Serial))
			e.RawSetString("refresh", lua.LNumber(x.Refresh))
			e.RawSetString("retry", lua.LNumber(x.Retry))
			e.RawSetString("expire", lua.LNumber(x.Expire))
			e.RawSetString("minimum", lua.LNumber(x.Minimum))
			t.Append(e)
		}
	case mdns.TypeSSHFP:
		for _, x := range a.SSHFP {
			e := L.CreateTable(0, 3)
			alg := "dsa"
			if x.Algorithm == 1 {
				alg = "rsa"
			}
			e.RawSetString("algorithm", lua.LString(alg))
			e.RawSetString("type", lua.LString("sha1"))
			e.RawSetString("digest", lua.LString(string(x.Digest)))
			t.Append(e)
		}
	case mdns.TypeMX:
		mxToLua(L, t, a.MX)
	}
	return t
}

// mxToLua fills the MX result table: n, priorities and one host list per
// preference, plus get_i through the metatable.
func mxToLua(L *lua.LState, t *lua.LTable, mx []MX) {
	t.RawSetString("n", lua.LNumber(len(mx)))
	prios := L.NewTable()
	// RawGet/RawSet, not the *Int variants: RawGetInt ignores the hash
	// part, where preference 0 (null MX, RFC 7505) lives.
	for _, p := range SortedPriorities(mx) {
		prios.Append(lua.LNumber(p))
		t.RawSet(lua.LNumber(p), L.NewTable())
	}
	t.RawSetString("priorities", prios)
	for _, m := range mx {
		t.RawGet(lua.LNumber(m.Preference)).(*lua.LTable).Append(lua.LString(m.Host))
	}
	mt, ok := L.G.Registry.RawGetString(mxMetaKey).(*lua.LTable)
	if !ok {
		mt = L.NewTable()
		idx := L.NewTable()
		idx.RawSetString("get_i", L.NewFunction(mxGetI))
		mt.RawSetString("__index", idx)
		L.G.Registry.RawSetString(mxMetaKey, mt)
	}
	L.SetMetatable(t, mt)
}

// mxGetI returns the i-th exchanger walking preferences in ascending order;
// indices past n wrap around ((i-1) % n + 1, the fix of spec 4.14).
func mxGetI(L *lua.LState) int {
	t := luaarg.CheckTable(L, 1, "get_i")
	i := int(luaarg.CheckNumber(L, 2, "get_i"))
	n := int(lua.LVAsNumber(t.RawGetString("n")))
	if i <= 0 || n <= 0 {
		return 0
	}
	i = (i-1)%n + 1
	prios, _ := t.RawGetString("priorities").(*lua.LTable)
	if prios == nil {
		return 0
	}
	for k := 1; k <= prios.Len(); k++ {
		hosts, _ := t.RawGet(prios.RawGetInt(k)).(*lua.LTable)
		if hosts == nil {
			continue
		}
		if i <= hosts.Len() {
			L.Push(hosts.RawGetInt(i))
			return 1
		}
		i -= hosts.Len()
	}
	return 0
}
