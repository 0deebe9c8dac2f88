//go:build linux

package registry

import "testing"

func TestHolderInLocks(t *testing.T) {
	// The file is device fd:01 (major 253, minor 1), inode 1234567.
	cases := []struct {
		name  string
		locks string
		want  int
	}{
		{"flock holder", "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF\n", 4242},
		{"waiter listed first is skipped",
			"1: -> FLOCK  ADVISORY  WRITE 4243 fd:01:1234567 0 EOF\n1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF\n", 4242},
		{"only a waiter", "1: -> FLOCK  ADVISORY  WRITE 4243 fd:01:1234567 0 EOF\n", 0},
		{"other inode", "1: FLOCK  ADVISORY  WRITE 4242 fd:01:7654321 0 EOF\n", 0},
		{"other device", "1: FLOCK  ADVISORY  WRITE 4242 fd:02:1234567 0 EOF\n", 0},
		{"flock preferred to posix",
			"1: POSIX  ADVISORY  WRITE 77 fd:01:1234567 0 EOF\n2: FLOCK  ADVISORY  READ 4242 fd:01:1234567 0 EOF\n", 4242},
		{"posix holder when no flock", "1: POSIX  ADVISORY  WRITE 77 fd:01:1234567 0 EOF\n", 77},
		{"ofd lock names nobody", "1: OFDLCK ADVISORY  WRITE -1 fd:01:1234567 0 EOF\n", 0},
		{"garbage", "nonsense\n\n1: FLOCK\n", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := holderInLocks([]byte(tc.locks), 0xfd, 0x01, 1234567); got != tc.want {
				t.Errorf("got PID %d, want %d", got, tc.want)
			}
		})
	}
}
