package relaytest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A stand-in for maildrop: invoked as `fake -f SENDER -d USER`, it stores
// stdin and behaves according to USER.
const fakeMaildrop = `#!/bin/sh
dir=$(dirname "$0")/box
mkdir -p "$dir"
user=$4
case "$user" in
temp) cat >/dev/null; echo "maildrop: mailbox is locked" >&2; exit 75 ;;
bad) cat >/dev/null; printf 'maildrop: no such\r\nuser\n' >&2; exit 67 ;;
slow) sleep 30; exit 0 ;;
noisy) cat >/dev/null; head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; exit 0 ;;
early) exit 0 ;;
esac
cat > "$dir/$user.msg"
echo "$1 $2 $3 $4" > "$dir/$user.args"
exit 0
`

func TestRelayMaildrop(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "fake-maildrop")
	require.NoError(t, os.WriteFile(script, []byte(fakeMaildrop), 0o755))
	big := strings.Repeat("0123456789abcdef\n", 40000) // 680 KB, more than a pipe holds
	out := runLua(t, `
		local h = require "relayhelp"
		require "slimta.relay.maildrop"
		h.run(function ()
			local md = slimta.relay.maildrop.new(SCRIPT, 2)
			local function m(sender, rcpts, data) return h.message(sender, rcpts, data or "Subject: x\n\nhello\n", nil, nil, "MD") end
			local msgs = {
				m("a@x.test", {"good@local", "temp@local"}),
				m("a@x.test", {"bad@local"}),
				m("a@x.test", {"slow@local"}),
				m("a@x.test", {"noisy@local"}),
				m("", {"large@local"}, BIG),
				m("a@x.test", {"early@local"}, BIG),
			}
			RESULTS = h.plain(h.relay({MD = md}, msgs))
		end)
	`, map[string]any{"SCRIPT": script, "BIG": big})
	rs := responses(t, out)
	require.Len(t, rs, 6)
	assert.Equal(t, "250", rs[0].Code)
	require.Len(t, rs[0].Failures, 1)
	assert.Equal(t, failure{"temp@local", "450", "4.2.0 mailbox is locked"}, rs[0].Failures[0])
	assert.Equal(t, "550", rs[1].Code)
	assert.Equal(t, "5.2.0 no such user", rs[1].Message)
	assert.Equal(t, "451", rs[2].Code)
	assert.Contains(t, rs[2].Message, "4.4.7")
	assert.Equal(t, "250", rs[3].Code, "a chatty program must not block on its pipes: %s", rs[3].Message)
	assert.Equal(t, "250", rs[4].Code, rs[4].Message)
	assert.Equal(t, "250", rs[5].Code, "a program that exits without reading: %s", rs[5].Message)

	good, err := os.ReadFile(filepath.Join(dir, "box", "good.msg"))
	require.NoError(t, err)
	assert.Equal(t, "Subject: x\r\n\r\nhello\n", string(good))
	args, err := os.ReadFile(filepath.Join(dir, "box", "good.args"))
	require.NoError(t, err)
	assert.Equal(t, "-f a@x.test -d good\n", string(args))
	large, err := os.ReadFile(filepath.Join(dir, "box", "large.msg"))
	require.NoError(t, err)
	assert.Equal(t, big, string(large))
	largeArgs, err := os.ReadFile(filepath.Join(dir, "box", "large.args"))
	require.NoError(t, err)
	assert.Equal(t, "-f  -d large\n", string(largeArgs), "the null sender is passed as an empty argument")
}
