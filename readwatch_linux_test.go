package main

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// firstRead returns a channel that is closed when some process next reads
// path (inotify's IN_ACCESS: a read(2) of its bytes, not an open or a
// stat). A registry is read under its shared flock, so a writer that asks
// for the exclusive lock once the channel is closed lands after that read.
func firstRead(t *testing.T, path string) <-chan struct{} {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: Close ends a Read
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_ACCESS); err != nil {
		f.Close()
		t.Fatalf("watch %s: %v", path, err)
	}
	read := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		n, err := f.Read(buf)
		if err == nil && n >= unix.SizeofInotifyEvent {
			close(read)
			return
		}
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("read inotify events of %s: %d bytes, %v", path, n, err)
		}
	}()
	t.Cleanup(func() {
		f.Close()
		<-done
	})
	return read
}
