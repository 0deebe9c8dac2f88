//go:build !linux

package main

import "testing"

// firstRead, without inotify, does not wait for the read: the channel is
// closed at once, and a writer released on it races the reader.
func firstRead(t *testing.T, path string) <-chan struct{} {
	t.Helper()
	t.Logf("no inotify here: a write released on the first read of %s is not ordered after it", path)
	read := make(chan struct{})
	close(read)
	return read
}
