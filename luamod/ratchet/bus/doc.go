// Package bus holds the tests of ratchet.bus, which is pure Lua
// (luamod/ratchet/lua/ratchet/bus): the ported original tests, the fixed
// defects and a fuzz target for the incremental frame parser.
package bus
