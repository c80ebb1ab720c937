package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "slimta-lua-cli")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "slimta-lua")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
		return p
	}
	argsScript := write("args.lua", `print(arg[0], arg[1], arg[2], arg[-1], select("#", ...), ...)`)
	errScript := write("err.lua", "local x = 1\nerror('boom')\n")
	tblErr := write("tbl.lua", `error(setmetatable({}, {__tostring = function () return "custom object" end}))`)
	syntax := write("syntax.lua", "local = 1\n")
	exit3 := write("exit.lua", "os.exit(3)")
	modDir := filepath.Join(dir, "mods")
	require.NoError(t, os.MkdirAll(modDir, 0o755))
	write("mods/greet.lua", `return {hello = function () return "hi from module" end}`)
	threadErr := write("threaderr.lua", `require "ratchet"
ratchet.new(function () ratchet.thread.timer(0); error("in thread") end):loop()`)

	tests := []struct {
		name    string
		args    []string
		env     []string
		stdin   string
		code    int
		stdout  string
		stderr  []string
		noInOut bool
	}{
		{name: "version", args: []string{"-v"}, stdout: "slimta-lua"},
		{name: "exec string", args: []string{"-e", "print(1+1)"}, stdout: "2\n"},
		{name: "exec joined", args: []string{"-eprint('x')"}, stdout: "x\n"},
		{name: "script args", args: []string{argsScript, "a", "b"}, stdout: argsScript + "\ta\tb\t" + binPath + "\t2\ta\tb\n"},
		{name: "options before script", args: []string{"-e", "y=1", argsScript, "a"}, stdout: argsScript + "\ta\tnil\ty=1\t1\ta\n"},
		{name: "stdin", args: []string{"-"}, stdin: "print('from stdin')", stdout: "from stdin\n"},
		{name: "missing script", args: []string{filepath.Join(dir, "nope.lua")}, code: 1, stderr: []string{"slimta-lua: cannot open " + filepath.Join(dir, "nope.lua")}},
		{name: "runtime error", args: []string{errScript}, code: 1, stderr: []string{"slimta-lua: " + errScript + ":2: boom", "stack traceback:"}},
		{name: "error object", args: []string{tblErr}, code: 1, stderr: []string{"slimta-lua: custom object"}},
		{name: "syntax error", args: []string{syntax}, code: 1, stderr: []string{"slimta-lua: " + syntax + ":1:"}},
		{name: "os.exit", args: []string{exit3}, code: 3},
		{name: "require -l", args: []string{"-l", "greet", "-e", "print(greet.hello())"}, env: []string{"LUA_PATH=" + modDir + "/?.lua;;"}, stdout: "hi from module\n"},
		{name: "LUA_INIT", args: []string{"-e", "print(initvar)"}, env: []string{"LUA_INIT=initvar = 'set'"}, stdout: "set\n"},
		{name: "LUA_INIT file", args: []string{"-e", "print(greet_loaded)"}, env: []string{"LUA_INIT=@" + write("init.lua", "greet_loaded = 'yes'")}, stdout: "yes\n"},
		{name: "bad option", args: []string{"-z"}, code: 1, stderr: []string{"unrecognized option '-z'", "usage:"}},
		{name: "thread error escapes loop", args: []string{threadErr}, code: 1, stderr: []string{"threaderr.lua:2: in thread"}},
		{name: "ratchet builtin", args: []string{"-e", "print(require('ratchet').version, ratchet ~= nil)"}, stdout: "0.8.2\ttrue\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binPath, tc.args...)
			cmd.Env = append(os.Environ(), tc.env...)
			cmd.Stdin = strings.NewReader(tc.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.code, code, "stderr: %s", stderr.String())
			if tc.stdout != "" {
				if tc.name == "version" {
					assert.Contains(t, stdout.String(), tc.stdout)
				} else {
					assert.Equal(t, tc.stdout, stdout.String())
				}
			}
			for _, want := range tc.stderr {
				assert.Contains(t, stderr.String(), want)
			}
		})
	}
}
