package registry

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyOut copies the file's bytes, from its offset (0: it was just
// opened), into an anonymous
// in-memory file (memfd) and returns it at offset 0. The copy runs at the
// speed of a read, so a lean read holds the registry's shared lock only
// for it and scans the copy after letting go. The copy's pages belong to
// the kernel's page cache, not to this process's resident memory, and go
// when it is closed.
func copyOut(f *os.File) (*os.File, error) {
	fd, err := unix.MemfdCreate("agentwatch-registry", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	m := os.NewFile(uintptr(fd), "agentwatch-registry")
	if _, err := io.Copy(m, f); err != nil { // copy_file_range where it can
		m.Close()
		return nil, err
	}
	if _, err := m.Seek(0, io.SeekStart); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}
