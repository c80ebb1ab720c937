package ratchet

import "github.com/slimta-lua/slimta-lua/luamod/ratchet/socket"

func init() { RegisterSubmodule("socket", socket.Open) }
