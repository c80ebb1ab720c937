package ratchet

import "github.com/slimta-lua/slimta-lua/luamod/ratchet/exec"

func init() {
	RegisterSubmodule("exec", exec.Open)
}
