package registry

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteInPlaceLeavesTheHeldPrefix holds writeInPlace to its word: the
// bytes the file is said to hold already are not written again (a byte
// changed there on disk behind its back stays changed), every byte after
// them is, and the file ends where data ends. Told nothing (held 0), it
// writes the whole file.
func TestWriteInPlaceLeavesTheHeldPrefix(t *testing.T) {
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
			for _, told := range []int{held, 0} {
				path := filepath.Join(t.TempDir(), "AGENT_REGISTRY.json")
				onDisk := bytes.Clone(old)
				onDisk[50] = 'Z' // inside the held prefix: a byte the write must not touch
				if err := os.WriteFile(path, onDisk, 0o644); err != nil {
					t.Fatal(err)
				}
				f, err := os.OpenFile(path, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				var steps []string
				err = writeInPlace(f, tc.data, told, func(s string) { steps = append(steps, s) }, nil)
				f.Close()
				if err != nil {
					t.Fatalf("writeInPlace: %v", err)
				}
				got := readFile(t, path)
				want := bytes.Clone(tc.data)
				if told > 50 {
					want[50] = 'Z'
				}
				if !bytes.Equal(got, want) {
					t.Errorf("told %d bytes are held: the file is not data with the held prefix left as it was on disk (%d bytes, want %d)", told, len(got), len(want))
				}
				if len(steps) != 6 {
					t.Errorf("told %d: steps %v, want all six", told, steps)
				}
			}
		})
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
