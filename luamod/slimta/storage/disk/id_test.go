package disk

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// Ids are canonical version-7 UUIDs and sort in creation order, even
// within one millisecond.
func TestUUIDv7(t *testing.T) {
	form := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	prev := ""
	for i := 0; i < 1000; i++ {
		id := newUUIDv7()
		require.Regexp(t, form, id)
		require.Greater(t, id, prev)
		prev = id
	}
}
