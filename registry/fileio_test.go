package registry

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"agentwatch/registry/pyjson"
)

// TestWriteInPlaceWritesFromTheHeldPrefix holds writeInPlace to its word:
// the bytes the file was seen to hold are not written again, every byte
// after them is, and the file ends where data ends; but where a writer
// that takes no lock changed a byte of that prefix since (here, on disk
// behind the write's back), the write starts at the first byte, so that
// the file is data and never a splice of the two. Told nothing (held 0),
// it writes the whole file.
func TestWriteInPlaceWritesFromTheHeldPrefix(t *testing.T) {
	old := bytes.Repeat([]byte(`{"active_count": 3, "pad": "................"}`), 200)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"same length", append(bytes.Clone(old[:len(old)-20]), bytes.Repeat([]byte("x"), 20)...)},
		{"longer", append(bytes.Clone(old[:len(old)-20]), bytes.Repeat([]byte("y"), 400)...)},
		{"shorter", bytes.Clone(old[:len(old)/3])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// In parts, as an encoding that shares its source is: the
			// first from the old bytes' memory.
			data := pyjson.SplicedOf(old[:60], tc.data[60:90], tc.data[90:len(tc.data)-3], tc.data[len(tc.data)-3:])
			held := data.PrefixWith(old)
			if held < 100 {
				t.Fatalf("test data: the change shares only %d bytes with the file", held)
			}
			for _, run := range []struct {
				name     string
				told     int
				changed  bool // a byte of the prefix changed on disk since
				wantFrom int
			}{
				{"prefix as seen", held, false, held},
				{"prefix changed since", held, true, 1},
				{"nothing known", 0, false, 1},
			} {
				path := filepath.Join(t.TempDir(), "AGENT_REGISTRY.json")
				onDisk := bytes.Clone(old)
				if run.changed {
					onDisk[50] = 'Z'
				}
				if err := os.WriteFile(path, onDisk, 0o644); err != nil {
					t.Fatal(err)
				}
				f, err := os.OpenFile(path, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				var steps []string
				from, err := writeInPlace(f, data, run.told, func(s string) { steps = append(steps, s) }, nil)
				f.Close()
				if err != nil {
					t.Fatalf("%s: writeInPlace: %v", run.name, err)
				}
				if from != run.wantFrom {
					t.Errorf("%s: wrote from offset %d, want %d", run.name, from, run.wantFrom)
				}
				if got := readFile(t, path); !bytes.Equal(got, tc.data) {
					t.Errorf("%s: the file is not data (%d bytes, want %d)", run.name, len(got), len(tc.data))
				}
				if len(steps) != 6 {
					t.Errorf("%s: steps %v, want all six", run.name, steps)
				}
			}
		})
	}
}

// TestHoldsFrom: a file holds a content's bytes from an offset on whatever
// comes before it and whatever follows, and ends where it does only when
// nothing follows.
func TestHoldsFrom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	content := bytes.Repeat([]byte("0123456789"), 30000) // beyond one buffer
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	changed := bytes.Clone(content[:200000])
	changed[150000] ^= 1
	before := bytes.Clone(content[:200000])
	before[0] ^= 1
	for _, tc := range []struct {
		want     []byte
		from     int
		end, got bool
	}{
		{content[:200000], 1, false, true},
		{content[:200000], 1, true, false},
		{content, 1, true, true},
		{content, 0, true, true},
		{changed, 1, false, false},
		{before, 1, true, false},
		{before, 1, false, true},
		{before, 0, false, false},
		{append(bytes.Clone(content), '!'), 1, false, false},
		{append(bytes.Clone(content), '!'), 1, true, false},
	} {
		for _, parts := range [][][]byte{{tc.want}, {tc.want[:3], tc.want[3:150001], tc.want[150001:]}} {
			got, err := holdsFrom(f, pyjson.SplicedOf(parts...), tc.from, tc.end)
			if err != nil || got != tc.got {
				t.Errorf("holdsFrom(%d bytes in %d parts, from %d, end %v) = %v, %v; want %v", len(tc.want), len(parts), tc.from, tc.end, got, err, tc.got)
			}
		}
	}
}
