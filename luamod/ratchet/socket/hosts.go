package socket

import (
	"bytes"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// hostsTable maps lower-case names to their addresses in file order.
type hostsTable map[string][]netip.Addr

// parseHosts reads hosts(5) syntax: "address name [aliases...]" lines,
// '#' comments. Malformed lines are skipped.
func parseHosts(data []byte) hostsTable {
	t := hostsTable{}
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(string(line))
		if len(f) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		for _, name := range f[1:] {
			name = strings.ToLower(strings.TrimRight(name, "."))
			if name == "" {
				continue
			}
			t[name] = append(t[name], ip)
		}
	}
	return t
}

type hostsCache struct {
	mu      sync.Mutex
	path    string
	mtime   time.Time
	size    int64
	checked time.Time
	table   hostsTable
}

var hostsC hostsCache

// hostsLookup returns the addresses listed for name in the hosts file at
// path (re-read when it changes, checked at most once a second).
func hostsLookup(path, name string) ([]netip.Addr, bool) {
	c := &hostsC
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.path != path || now.Sub(c.checked) > time.Second {
		c.checked = now
		st, err := os.Stat(path)
		switch {
		case err != nil:
			c.table, c.path = nil, path
		case c.path != path || !st.ModTime().Equal(c.mtime) || st.Size() != c.size:
			data, err := os.ReadFile(path)
			if err != nil {
				c.table = nil
			} else {
				c.table = parseHosts(data)
			}
			c.path, c.mtime, c.size = path, st.ModTime(), st.Size()
		}
	}
	addrs, ok := c.table[name]
	return addrs, ok
}
