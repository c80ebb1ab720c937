package socket

import (
	"encoding/binary"
	"math"
	"os"
	"sync"
	"time"

	"github.com/slimta-lua/slimta-lua/kernel"
	"github.com/slimta-lua/slimta-lua/luamod/luaarg"
	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

const socketMeta = "ratchet.socket.meta"

// EncryptFunc implements socket:encrypt(ctx) (argument 2 is the context);
// the ratchet.ssl package installs it with SetEncryptFunc.
type EncryptFunc func(L *lua.LState, s *Socket) int

var (
	encryptFn   EncryptFunc
	encryptOnce sync.Once
)

// SetEncryptFunc installs the implementation of socket:encrypt. Only the
// first call counts: every runtime opens ratchet.ssl, possibly at the same
// time from several goroutines.
func SetEncryptFunc(f EncryptFunc) { encryptOnce.Do(func() { encryptFn = f }) }

// Open builds the ratchet.socket table.
func Open(L *lua.LState) *lua.LTable {
	socketMetatable(L)
	addrMetatable(L)
	return L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"new":          sockNew,
		"new_pair":     sockNewPair,
		"from_fd":      sockFromFD,
		"prepare_tcp":  prepareTCP,
		"prepare_udp":  prepareUDP,
		"prepare_unix": prepareUnix,
		"multi_recv":   multiRecv,
		"gethostname":  gethostname,
		"hton":         hton,
		"hton16":       hton16,
		"ntoh":         ntoh,
		"ntoh16":       ntoh16,
	})
}

func socketMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(socketMeta).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	methods := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"get_fd":         sockGetFD,
		"get_timeout":    sockGetTimeout,
		"set_timeout":    sockSetTimeout,
		"bind":           sockBind,
		"listen":         sockListen,
		"accept":         sockAccept,
		"connect":        sockConnect,
		"send":           sockSend,
		"recv":           sockRecv,
		"shutdown":       sockShutdown,
		"close":          sockClose,
		"check_errors":   sockCheckErrors,
		"set_tracer":     sockSetTracer,
		"getsockopt":     sockGetopt,
		"setsockopt":     sockSetopt,
		"encrypt":        sockEncrypt,
		"get_encryption": sockGetEncryption,
	})
	mt.RawSetString("__index", methods)
	// Identity, not descriptor numbers: closed sockets (fd -1) must not
	// compare equal (defect 4.12).
	mt.RawSetString("__eq", L.NewFunction(func(L *lua.LState) int {
		a, _ := FromValue(L.Get(1))
		b, _ := FromValue(L.Get(2))
		L.Push(lua.LBool(a != nil && a == b))
		return 1
	}))
	L.G.Registry.RawSetString(socketMeta, mt)
	return mt
}

// FromValue returns the socket behind a ratchet socket userdata.
func FromValue(v lua.LValue) (*Socket, bool) {
	if ud, ok := v.(*lua.LUserData); ok {
		if s, ok := ud.Value.(*Socket); ok {
			return s, true
		}
	}
	return nil, false
}

// Check returns argument n as a socket or raises an argument error naming fname.
func Check(L *lua.LState, n int, fname string) *Socket {
	if s, ok := FromValue(L.Get(n)); ok {
		return s
	}
	luaarg.ArgError(L, n, fname, "ratchet socket expected, got "+luaarg.TypeName(L, n))
	return nil
}

// Push pushes s as a Lua socket userdata; the same socket always gets the
// same userdata, so identity holds across Go and Lua.
func Push(L *lua.LState, s *Socket) {
	L.Push(userdata(L, s))
}

func userdata(L *lua.LState, s *Socket) *lua.LUserData {
	if s.ud == nil {
		ud := L.NewUserData()
		ud.Value = s
		L.SetMetatable(ud, socketMetatable(L))
		s.ud = ud
	}
	return s.ud
}

// Userdata returns the Lua value of s (creating it if needed).
func Userdata(L *lua.LState, s *Socket) *lua.LUserData { return userdata(L, s) }

// ---- argument helpers ----

func checkString(L *lua.LState, n int, fname string) string {
	return luaarg.CheckString(L, n, fname)
}

func checkNumber(L *lua.LState, n int, fname string) float64 {
	return luaarg.CheckNumber(L, n, fname)
}

func checkTable(L *lua.LState, n int, fname string) *lua.LTable {
	return luaarg.CheckTable(L, n, fname)
}

func optInt(L *lua.LState, n int, fname string, def int) int {
	return int(luaarg.OptNumber(L, n, fname, float64(def)))
}

// seconds converts Lua seconds to a duration; negative means none.
func seconds(f float64) time.Duration {
	if f < 0 || math.IsNaN(f) {
		return -1
	}
	if f > float64(math.MaxInt64)/1e9 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(f * float64(time.Second))
}

// ---- namespace functions ----

// NewSocket creates a socket outside Lua (for Go callers and tests).
func NewSocket(L *lua.LState, family, stype, proto int) (*Socket, error) {
	fd, err := unix.Socket(family, stype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, err
	}
	s, err := newSocket(L, fd, family, stype, proto)
	if err != nil {
		_ = unix.Close(fd)
	}
	return s, err
}

func sockNew(L *lua.LState) int {
	const fname = "ratchet.socket.new"
	family := optInt(L, 1, fname, unix.AF_INET)
	stype := optInt(L, 2, fname, unix.SOCK_STREAM)
	proto := optInt(L, 3, fname, 0)
	s, err := NewSocket(L, family, stype, proto)
	if err != nil {
		kernel.RaiseErrno(L, "ratchet.socket.new()", "socket", err)
	}
	Push(L, s)
	return 1
}

func sockNewPair(L *lua.LState) int {
	const fname = "ratchet.socket.new_pair"
	family := optInt(L, 1, fname, unix.AF_UNIX)
	stype := optInt(L, 2, fname, unix.SOCK_STREAM)
	proto := optInt(L, 3, fname, 0)
	fds, err := unix.Socketpair(family, stype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		kernel.RaiseErrno(L, "ratchet.socket.new_pair()", "socketpair", err)
	}
	a, err := newSocket(L, fds[0], family, stype, proto)
	if err != nil {
		_ = unix.Close(fds[0])
		_ = unix.Close(fds[1])
		kernel.RaiseErrno(L, "ratchet.socket.new_pair()", "socketpair", err)
	}
	b, err := newSocket(L, fds[1], family, stype, proto)
	if err != nil {
		_ = a.Close()
		_ = unix.Close(fds[1])
		kernel.RaiseErrno(L, "ratchet.socket.new_pair()", "socketpair", err)
	}
	Push(L, a)
	Push(L, b)
	return 2
}

// FromFD wraps an existing descriptor, making it non-blocking and
// close-on-exec (defect 4.10).
func FromFD(L *lua.LState, fd int) (*Socket, error) {
	if fd < 0 {
		return nil, unix.EBADF
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, err
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return nil, err
	}
	family, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	stype, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	proto, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
	return newSocket(L, fd, family, stype, proto)
}

func sockFromFD(L *lua.LState) int {
	fd := int(checkNumber(L, 1, "ratchet.socket.from_fd"))
	if fd < 0 {
		kernel.Raise(L, kernel.Error{Description: "Invalid file descriptor.", Code: "EBADF", Function: "ratchet.socket.from_fd()"})
	}
	s, err := FromFD(L, fd)
	if err != nil {
		kernel.RaiseErrno(L, "ratchet.socket.from_fd()", "fcntl", err)
	}
	Push(L, s)
	return 1
}

func gethostname(L *lua.LState) int {
	h, err := os.Hostname()
	if err != nil {
		kernel.RaiseErrno(L, "ratchet.socket.gethostname()", "gethostname", err)
	}
	L.Push(lua.LString(h))
	return 1
}

// multi_recv(sockets [, timeout [, maxlen]]) -> data, socket | nil
func multiRecv(L *lua.LState) int {
	const fname = "ratchet.socket.multi_recv"
	list := checkTable(L, 1, fname)
	timeout := time.Duration(-1)
	if L.Get(2) != lua.LNil {
		timeout = seconds(checkNumber(L, 2, fname))
	}
	maxlen := optInt(L, 3, fname, BUFSZ)
	var items []kernel.WaitItem
	var socks []*Socket
	var vals []lua.LValue
	for i := 1; ; i++ {
		v := list.RawGetInt(i)
		if v == lua.LNil {
			break
		}
		s, ok := FromValue(v)
		if !ok {
			L.RaiseError("bad argument #1 to '%s' (item %d is not a ratchet socket)", fname, i)
		}
		items = append(items, kernel.WaitItem{W: s})
		socks = append(socks, s)
		vals = append(vals, v)
	}
	if len(items) == 0 && timeout < 0 {
		L.RaiseError("bad argument #1 to '%s' (no sockets to wait on)", fname)
	}
	i := kernel.WaitAny(L, items, timeout)
	if i < 0 {
		L.Push(lua.LNil)
		return 1
	}
	if i > 0 {
		// A later item won. The original judged readiness once per poll,
		// after every thread woken in that poll had run; let the threads
		// that are ready now run too, then prefer an earlier item that has
		// become readable meanwhile (tie rule, spec 1.8.4).
		kernel.Sleep(L, 0)
		for j := 0; j < i; j++ {
			if socks[j].Ready(false) {
				i = j
				break
			}
		}
	}
	L.Push(recvString(L, socks[i], maxlen))
	L.Push(vals[i])
	return 2
}

// ---- byte order ----

// pushRest pushes arguments from..n again (n is the argument count, taken
// before any result was pushed).
func pushRest(L *lua.LState, from, n int) int {
	for i := from; i <= n; i++ {
		L.Push(L.Get(i))
	}
	return n - from + 1
}

// checkInteger reads an integer argument the Lua 5.2 way: fractions are
// truncated (spec 5.10), only NaN and infinities are refused.
func checkInteger(L *lua.LState, n int, fname string) int64 {
	f := checkNumber(L, n, fname)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		luaarg.ArgError(L, n, fname, "number has no integer representation")
	}
	return int64(math.Trunc(f))
}

func hton(L *lua.LState) int {
	top := L.GetTop()
	v := uint32(checkInteger(L, 1, "ratchet.socket.hton"))
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	L.Push(lua.LString(b[:]))
	return 1 + pushRest(L, 2, top)
}

func hton16(L *lua.LState) int {
	top := L.GetTop()
	v := uint16(checkInteger(L, 1, "ratchet.socket.hton16"))
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	L.Push(lua.LString(b[:]))
	return 1 + pushRest(L, 2, top)
}

func ntoh(L *lua.LState) int {
	top := L.GetTop()
	s, ok := L.Get(1).(lua.LString)
	if ok && len(s) == 4 {
		L.Push(lua.LNumber(binary.BigEndian.Uint32([]byte(s))))
	} else {
		L.Push(lua.LNil)
	}
	return 1 + pushRest(L, 2, top)
}

func ntoh16(L *lua.LState) int {
	top := L.GetTop()
	s, ok := L.Get(1).(lua.LString)
	if ok && len(s) == 2 {
		L.Push(lua.LNumber(binary.BigEndian.Uint16([]byte(s))))
	} else {
		L.Push(lua.LNil)
	}
	return 1 + pushRest(L, 2, top)
}
