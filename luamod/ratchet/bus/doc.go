// Package bus implements the local bus of ratchet.bus natively (module
// ratchet.bus.native, used by ratchet.bus.new_local): its Lua version cost
// several microseconds per request/response round trip. The socket bus
// stays pure Lua (luamod/ratchet/lua/ratchet/bus). The tests cover both:
// the ported original tests, the fixed defects and a fuzz target for the
// incremental frame parser.
package bus
