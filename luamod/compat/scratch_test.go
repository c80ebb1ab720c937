package compat

import (
	"os"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestScratch(t *testing.T) {
	f := os.Getenv("SCRATCH")
	if f == "" {
		t.Skip()
	}
	L := lua.NewState()
	defer L.Close()
	if os.Getenv("NOCOMPAT") == "" {
		Open(L, Options{})
	}
	if err := L.DoFile(f); err != nil {
		t.Log(err)
	}
}
