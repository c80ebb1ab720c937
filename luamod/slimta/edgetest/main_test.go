package edgetest

import (
	"os"
	"testing"
)

var tempDirs []string

// tempDir makes a directory removed when the package's tests end (the
// certificate outlives any single test).
func tempDir() (string, error) {
	d, err := os.MkdirTemp("", "slimta-edgetest-")
	if err == nil {
		tempDirs = append(tempDirs, d)
	}
	return d, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		_ = os.RemoveAll(d)
	}
	os.Exit(code)
}
