package ratchet

import "github.com/slimta-lua/slimta-lua/luamod/ratchet/bus"

// The local bus is native for speed; ratchet.bus (Lua) builds on it. It is
// not registered as "bus" because ratchet.bus itself is loaded on demand.
func init() {
	RegisterSubmodule("bus_native", bus.Open)
}
