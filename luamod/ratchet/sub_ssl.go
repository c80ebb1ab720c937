package ratchet

import "github.com/slimta-lua/slimta-lua/luamod/ratchet/ssl"

func init() { RegisterSubmodule("ssl", ssl.Open) }
