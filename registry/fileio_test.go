package registry

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
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
			held := commonPrefix(old, tc.data)
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
				from, err := writeInPlace(f, tc.data, run.told, func(s string) { steps = append(steps, s) }, nil)
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

// TestHoldsAt: a file holds a run of bytes at an offset whatever follows
// it, and ends there only when nothing does.
func TestHoldsAt(t *testing.T) {
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
	changed := bytes.Clone(content[1:200000])
	changed[150000] ^= 1
	for _, tc := range []struct {
		want     []byte
		at       int64
		end, got bool
	}{
		{content[1:200000], 1, false, true},
		{content[1:200000], 1, true, false},
		{content[1:], 1, true, true},
		{changed, 1, false, false},
		{content[1:200000], 2, false, false},
		{append(bytes.Clone(content[1:]), '!'), 1, false, false},
	} {
		got, err := holdsAt(f, tc.want, tc.at, tc.end)
		if err != nil || got != tc.got {
			t.Errorf("holdsAt(%d bytes at %d, end %v) = %v, %v; want %v", len(tc.want), tc.at, tc.end, got, err, tc.got)
		}
	}
}

// TestCommonPrefix holds the block-wise comparison to a byte-wise one,
// with differences at every place around a block's edges.
func TestCommonPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := make([]byte, 3*4096+17)
	for i := range base {
		base[i] = byte('a' + r.IntN(26))
	}
	naive := func(a, b []byte) int {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		return i
	}
	check := func(a, b []byte) {
		t.Helper()
		if got, want := commonPrefix(a, b), naive(a, b); got != want {
			t.Errorf("commonPrefix of %d and %d bytes: got %d, want %d", len(a), len(b), got, want)
		}
	}
	check(nil, nil)
	check(base, nil)
	check(base, base)
	for _, at := range []int{0, 1, 4095, 4096, 4097, 8191, 8192, len(base) - 1} {
		b := bytes.Clone(base)
		b[at] ^= 0x20
		check(base, b)
		check(b, base)
		check(base, base[:at])
		check(base[:at], base)
	}
}
