package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestIsTTY asks isTTY about a real pseudo-terminal and about what is not
// one: /dev/null (a character device), a pipe, a file, a buffer.
func TestIsTTY(t *testing.T) {
	open := func(path string, flag int) *os.File {
		t.Helper()
		f, err := os.OpenFile(path, flag, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	ptmx := open("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY)
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("name the pty: %v", err)
	}
	pts := open(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })

	for _, tt := range []struct {
		name string
		r    any
		want bool
	}{
		{"a pty's terminal side", pts, true},
		{"a pty's controlling side", ptmx, true},
		{"/dev/null", open(os.DevNull, os.O_RDWR), false},
		{"a pipe", w, false},
		{"a file", open(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE), false},
		{"a buffer", &bytes.Buffer{}, false},
	} {
		if got := isTTY(tt.r); got != tt.want {
			t.Errorf("isTTY(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
