package smtp_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	slimtalua "github.com/slimta-lua/slimta-lua"
)

// TestSinkManual runs testdata/bench_sink.lua for SINK_SECONDS on
// SINK_PORT, for profiling with go test -cpuprofile. Skipped by default.
func TestSinkManual(t *testing.T) {
	port := os.Getenv("SINK_PORT")
	if port == "" {
		t.Skip("set SINK_PORT (and SINK_SECONDS) to run the benchmark sink")
	}
	secs, _ := strconv.Atoi(os.Getenv("SINK_SECONDS"))
	if secs <= 0 {
		secs = 20
	}
	rt := slimtalua.New(slimtalua.Options{Args: []string{"testdata/bench_sink.lua", port}})
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	_ = rt.RunFile(ctx, "testdata/bench_sink.lua")
}
