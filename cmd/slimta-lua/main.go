// Command slimta-lua runs Lua scripts with the ratchet and slimta modules
// built in. It behaves like the stand-alone lua interpreter:
//
//	slimta-lua [options] [script [args]]
//
// Options: -e stat, -l name, -i, -v, -E, -- and - (stdin).
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"strings"
	"syscall"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/slimta-lua/slimta-lua/luamod/ratchet"
	lua "github.com/yuin/gopher-lua"
)

const progName = "slimta-lua"

func usage(w io.Writer, bad string) {
	if bad != "" {
		fmt.Fprintf(w, "%s: unrecognized option '%s'\n", progName, bad)
	}
	fmt.Fprintf(w, `usage: %s [options] [script [args]]
Available options are:
  -e stat  execute string 'stat'
  -i       enter interactive mode after executing 'script'
  -l name  require library 'name'
  -v       show version information
  -E       ignore environment variables
  --       stop handling options
  -        stop handling options and execute stdin
`, progName)
}

func versionLine() string {
	return fmt.Sprintf("%s (ratchet %s, %s on gopher-lua with Lua 5.2 compatibility)", progName, ratchet.Version, lua.LuaVersion)
}

type action struct {
	kind string // "e" or "l"
	arg  string
}

func main() {
	// Lua allocates briskly and a mail server's heap is mostly short-lived
	// garbage: collect less often than Go's default unless told otherwise.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(300)
	}
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		actions     []action
		interactive bool
		showVersion bool
		noEnv       bool
		scriptIdx   = -1
		stdinScript bool
	)
	i := 1
loop:
	for ; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--":
			i++
			break loop
		case a == "-":
			stdinScript = true
			break loop
		case a == "-i":
			interactive, showVersion = true, true
		case a == "-v":
			showVersion = true
		case a == "-E":
			noEnv = true
		case strings.HasPrefix(a, "-e") || strings.HasPrefix(a, "-l"):
			val := a[2:]
			if val == "" {
				i++
				if i >= len(argv) {
					fmt.Fprintf(stderr, "%s: '%s' needs argument\n", progName, a)
					usage(stderr, "")
					return 1
				}
				val = argv[i]
			}
			actions = append(actions, action{a[1:2], val})
		case strings.HasPrefix(a, "-") && len(a) > 1:
			usage(stderr, a)
			return 1
		default:
			break loop
		}
	}
	if i < len(argv) && !stdinScript {
		scriptIdx = i
	}

	rt := slimtalua.New()
	defer rt.Close()
	L := rt.L
	if !noEnv {
		if p, ok := os.LookupEnv("LUA_PATH_5_2"); ok {
			setPath(L, p)
		} else if p, ok := os.LookupEnv("LUA_PATH"); ok {
			setPath(L, p)
		}
	}
	// The arg table: script at 0, interpreter and options below.
	argBase := scriptIdx
	if argBase < 0 {
		argBase = len(argv)
		if stdinScript {
			argBase = i
		}
	}
	rt.SetArgs(argv, argBase)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT)
	defer stop()
	if interactive || (scriptIdx < 0 && !stdinScript && len(actions) == 0 && !showVersion && isTTY(stdin)) {
		interactive = true
	}
	if showVersion {
		fmt.Fprintln(stdout, versionLine())
	}
	if !noEnv {
		init, ok := os.LookupEnv("LUA_INIT_5_2")
		if !ok {
			init, ok = os.LookupEnv("LUA_INIT")
		}
		if ok && init != "" {
			var err error
			if strings.HasPrefix(init, "@") {
				err = runChunkFile(rt, init[1:], nil)
			} else {
				err = runChunkString(rt, init, "=LUA_INIT")
			}
			if err != nil {
				report(stderr, err)
				return 1
			}
		}
	}
	for _, a := range actions {
		var err error
		if a.kind == "e" {
			err = runChunkString(rt, a.arg, "=(command line)")
		} else {
			var res []lua.LValue
			res, err = rt.Call(context.Background(), L.GetGlobal("require"), lua.LString(a.arg))
			if err == nil && len(res) > 0 {
				L.SetGlobal(a.arg, res[0])
			}
		}
		if err != nil {
			report(stderr, err)
			return 1
		}
	}
	_ = ctx
	switch {
	case scriptIdx >= 0:
		if err := runChunkFile(rt, argv[scriptIdx], argv[scriptIdx+1:]); err != nil {
			report(stderr, err)
			return 1
		}
	case stdinScript:
		src, err := io.ReadAll(stdin)
		if err != nil {
			report(stderr, err)
			return 1
		}
		if err := runChunkArgs(rt, stripShebang(string(src)), "stdin", argv[i+1:]); err != nil {
			report(stderr, err)
			return 1
		}
	}
	if interactive {
		repl(rt, stdin, stdout, stderr)
	}
	return 0
}

// setPath applies a LUA_PATH value, where ";;" stands for the default path.
func setPath(L *lua.LState, p string) {
	def := lua.LuaPathDefault
	p = strings.Replace(p, ";;", ";"+def+";", 1)
	L.SetField(L.GetGlobal("package"), "path", lua.LString(strings.Trim(p, ";")))
}

func isTTY(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func stripShebang(src string) string {
	if strings.HasPrefix(src, "#") {
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			return "--" + src[i:] // keep line numbers
		}
		return ""
	}
	return src
}

type loadError struct{ msg string }

func (e *loadError) Error() string { return e.msg }

// gopher-lua reports syntax errors as "name line:N(column:M) near 'x': msg";
// lua users expect "name:N: msg near 'x'".
var syntaxRe = regexp.MustCompile(`^(.*?) line:(\d+)\(column:\d+\) near '(.*?)':\s*(.*)$`)

func normaliseSyntax(name string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "<string>: ")
	first := strings.SplitN(msg, "\n", 2)[0]
	if m := syntaxRe.FindStringSubmatch(first); m != nil {
		return &loadError{fmt.Sprintf("%s:%s: %s near '%s'", name, m[2], strings.TrimSpace(m[4]), m[3])}
	}
	return &loadError{msg}
}

func runChunkString(rt *slimtalua.Runtime, src, chunk string) error {
	fn, err := rt.L.Load(strings.NewReader(src), chunk)
	if err != nil {
		return normaliseSyntax(strings.TrimPrefix(chunk, "="), err)
	}
	rt.L.Push(fn)
	return callTop(rt, 0)
}

func runChunkArgs(rt *slimtalua.Runtime, src, name string, args []string) error {
	fn, err := rt.L.Load(strings.NewReader(src), name)
	if err != nil {
		return normaliseSyntax(name, err)
	}
	rt.L.Push(fn)
	for _, a := range args {
		rt.L.Push(lua.LString(a))
	}
	return callTop(rt, len(args))
}

func runChunkFile(rt *slimtalua.Runtime, path string, args []string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return &loadError{fmt.Sprintf("cannot open %s", path)}
	}
	fn, err := rt.L.Load(strings.NewReader(stripShebang(string(data))), path)
	if err != nil {
		return normaliseSyntax(path, err)
	}
	rt.L.Push(fn)
	for _, a := range args {
		rt.L.Push(lua.LString(a))
	}
	return callTop(rt, len(args))
}

// callTop calls the function below the top nargs values.
func callTop(rt *slimtalua.Runtime, nargs int) error {
	L := rt.L
	fn := L.Get(-nargs - 1)
	args := make([]lua.LValue, nargs)
	for i := 0; i < nargs; i++ {
		args[i] = L.Get(-nargs + i)
	}
	L.Pop(nargs + 1)
	_, err := rt.Call(context.Background(), fn, args...)
	return err
}

func report(w io.Writer, err error) {
	var le *loadError
	if errors.As(err, &le) {
		fmt.Fprintf(w, "%s: %s\n", progName, le.msg)
		return
	}
	var e *slimtalua.Error
	if errors.As(err, &e) {
		fmt.Fprintf(w, "%s: %s\n", progName, errorMessage(e))
		if e.Traceback != "" {
			fmt.Fprintln(w, strings.ReplaceAll(e.Traceback, "[G]", "[C]"))
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", progName, err)
}

// errorMessage words an uncaught error as lua.c 5.2 does: values without
// a string form give "(no error message)", nil "(error object is not a
// string)".
func errorMessage(e *slimtalua.Error) string {
	switch v := e.Value.(type) {
	case nil, lua.LString, lua.LNumber:
		return e.Message
	case *lua.LNilType:
		return "(error object is not a string)"
	case *lua.LTable:
		if mt, ok := v.Metatable.(*lua.LTable); ok && mt.RawGetString("__tostring") != lua.LNil {
			return e.Message
		}
	case *lua.LUserData:
		if mt, ok := v.Metatable.(*lua.LTable); ok && mt.RawGetString("__tostring") != lua.LNil {
			return e.Message
		}
	}
	return "(no error message)"
}

func repl(rt *slimtalua.Runtime, stdin io.Reader, stdout, stderr io.Writer) {
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	prompt := "> "
	var pending string
	for {
		fmt.Fprint(stdout, prompt)
		if !sc.Scan() {
			fmt.Fprintln(stdout)
			return
		}
		line := sc.Text()
		if pending == "" && strings.HasPrefix(line, "=") {
			line = "return " + line[1:]
		}
		src := pending + line
		fn, err := rt.L.Load(strings.NewReader("return "+src), "=stdin")
		if err != nil {
			fn, err = rt.L.Load(strings.NewReader(src), "=stdin")
		}
		if err != nil {
			if strings.Contains(err.Error(), "<eof>") {
				pending = src + "\n"
				prompt = ">> "
				continue
			}
			report(stderr, normaliseSyntax("stdin", err))
			pending, prompt = "", "> "
			continue
		}
		pending, prompt = "", "> "
		res, err := rt.Call(context.Background(), fn)
		if err != nil {
			report(stderr, err)
			continue
		}
		if len(res) > 0 {
			parts := make([]string, len(res))
			for i, v := range res {
				parts[i] = rt.ToString(v)
			}
			fmt.Fprintln(stdout, strings.Join(parts, "\t"))
		}
	}
}
