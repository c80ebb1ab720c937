package ratchet

import "github.com/slimta-lua/slimta-lua/luamod/ratchet/timerfd"

func init() {
	RegisterSubmodule("timerfd", timerfd.Open)
}
