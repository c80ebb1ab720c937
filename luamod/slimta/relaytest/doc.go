// Package relaytest holds the tests of slimta.relay, slimta.relay.smtp,
// slimta.relay.maildrop and slimta.routing.* (Lua modules embedded in
// luamod/slimta). The tests run Lua through the embedding API against real
// peers from package peers.
package relaytest
