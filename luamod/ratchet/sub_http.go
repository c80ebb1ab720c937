package ratchet

import "github.com/slimta-lua/slimta-lua/luamod/ratchet/http"

func init() { RegisterSubmodule("http.common", http.Open) }
