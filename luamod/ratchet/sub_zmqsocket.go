package ratchet

import "github.com/slimta-lua/slimta-lua/luamod/ratchet/zmqsocket"

func init() {
	RegisterSubmodule("zmqsocket", zmqsocket.Open)
}
