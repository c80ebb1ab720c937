package slimtalua_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
	"github.com/stretchr/testify/require"
)

// TestSeedSnippets runs the seed page's snippets (testdata/seed) verbatim.
func TestSeedSnippets(t *testing.T) {
	files, err := filepath.Glob("testdata/seed/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rt := slimtalua.New()
			defer rt.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := rt.RunFile(ctx, f)
			if e, ok := err.(*slimtalua.Error); ok {
				t.Fatalf("%s\n%s", e.Message, e.Traceback)
			}
			require.NoError(t, err)
		})
	}
}
