package ratchet

import "github.com/slimta-lua/slimta-lua/luamod/ratchet/bus"

// The local bus is native for speed; ratchet.bus (Lua) builds on it. It is
// an internal module, require "ratchet.bus.native", not a field of the
// ratchet table (whose fields the spec lists).
func init() {
	RegisterInternal("ratchet.bus.native", bus.Open)
}
