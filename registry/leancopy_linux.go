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
	if err := sendAll(m, f); err != nil {
		m.Close()
		return nil, err
	}
	if _, err := m.Seek(0, io.SeekStart); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// sendAll copies the rest of src into dst inside the kernel with
// sendfile(2), from page cache to page cache: copy_file_range refuses a
// copy from another filesystem into a memfd, and a copy through this
// process would read and write every byte once more. Where sendfile cannot
// (an old kernel, a file it does not take) the bytes go through io.Copy.
func sendAll(dst, src *os.File) error {
	for sent := 0; ; {
		n, err := unix.Sendfile(int(dst.Fd()), int(src.Fd()), nil, 1<<30)
		switch {
		case err == unix.EINTR || err == unix.EAGAIN:
			continue
		case (err == unix.EINVAL || err == unix.ENOSYS) && sent == 0:
			_, err := io.Copy(dst, src)
			return err
		case err != nil:
			return err
		case n == 0:
			return nil
		}
		sent += n
	}
}
