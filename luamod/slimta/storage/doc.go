// Package storage holds slimta's storage engines (spec 2.21-2.23) and
// their shared tests: slimta.storage.memory is Lua (lua/slimta/storage),
// slimta.storage.disk (durable, bbolt) and slimta.storage.redis are Go
// packages below this one. The tests in this directory run the session
// contract and the slimta.queue scenarios of spec 4.2 against every
// engine (testdata/test_*.lua) and engine-independent scripts once
// (testdata/once_*.lua).
package storage
