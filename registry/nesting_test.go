package registry

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestTooDeepRegistryIsNeverRewritten checks that a registry nested past
// Python's limit is corrupt to the store: a repair is refused and the
// bytes stay as they are.
func TestTooDeepRegistryIsNeverRewritten(t *testing.T) {
	for _, d := range []int{1000, 1500, 1999} {
		t.Run(strconv.Itoa(d), func(t *testing.T) {
			content := `{"agents": {}, "deep": ` + strings.Repeat("[", d-1) + "1" + strings.Repeat("]", d-1) + `}`
			path := newRegistry(t, content)
			s := newStore(t)
			if _, err := s.Read(context.Background(), path); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Read: got %v, want ErrCorrupt", err)
			}
			_, err := s.Transform(context.Background(), path, setKey("total_agents", 1))
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "Python's json module cannot read") {
				t.Errorf("Update: got %v, want ErrCorrupt saying Python cannot read it", err)
			}
			if got := readFile(t, path); string(got) != content {
				t.Errorf("the registry was rewritten")
			}
		})
	}
}
