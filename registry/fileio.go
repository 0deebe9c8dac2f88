// Reading and writing a registry's bytes under its lock: whole reads, the
// comparison with a read made before the lock, the in-place rewrite that
// never leaves a file that parses when it is cut short.

package registry

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"agentwatch/internal/hugemem"
	"agentwatch/registry/pyjson"
)

// snapshot reads the whole registry from offset 0 and parses it.
func (h *lockedFile) snapshot(shown string) (*Snapshot, error) {
	data, err := readAll(h.file)
	if err != nil {
		return nil, err
	}
	return h.snapshotOf(shown, data)
}

func (h *lockedFile) snapshotOf(shown string, data []byte) (*Snapshot, error) {
	fi, err := h.file.Stat()
	if err != nil {
		return nil, err
	}
	return newSnapshot(shown, data, fi.ModTime()), nil
}

// newSnapshot hashes and parses bytes read under the lock.
func newSnapshot(shown string, data []byte, modTime time.Time) *Snapshot {
	return newSnapshotParsed(shown, data, modTime, pyjson.ParseShared)
}

// newSnapshotParsed is newSnapshot with the bytes parsed by parse.
func newSnapshotParsed(shown string, data []byte, modTime time.Time, parse func([]byte) (*pyjson.Value, error)) *Snapshot {
	snap := &Snapshot{Path: shown, Data: data, Hash: HashBytes(data), ModTime: modTime}
	snap.Root, snap.ParseErr = parse(data)
	if snap.ParseErr != nil {
		snap.Root = nil
	}
	return snap
}

// snapshotLike reads the file and, when its bytes are those of a read
// made before the lock, takes that read's parse and hash instead of
// computing them again.
func (h *lockedFile) snapshotLike(shown string, prepared *Snapshot) (*Snapshot, error) {
	if prepared == nil || prepared.Root == nil {
		return h.snapshot(shown)
	}
	same, err := sameContent(h.file, pyjson.SplicedOf(prepared.Data))
	if err != nil {
		return nil, err
	}
	if !same {
		return h.snapshot(shown)
	}
	fi, err := h.file.Stat()
	if err != nil {
		return nil, err
	}
	return &Snapshot{Path: shown, Data: prepared.Data, Hash: prepared.Hash, ModTime: fi.ModTime(), Root: prepared.Root}, nil
}

// sameContent reports whether the file's bytes are want.
func sameContent(f *os.File, want *pyjson.Spliced) (bool, error) { return holdsFrom(f, want, 0, true) }

// errDiffers stops holdsFrom's walk at the first difference.
var errDiffers = errors.New("differs")

// holdsFrom reports whether the file holds want's bytes from offset from
// on at the same offsets, and with end, whether it ends where want does.
// It reads the file in chunks through one small buffer, stopping at the
// first difference: under the lock, a big registry is compared without
// being copied whole into new memory.
func holdsFrom(f *os.File, want *pyjson.Spliced, from int, end bool) (bool, error) {
	buf := make([]byte, min(want.Size()-from+1, 128<<10))
	err := want.Each(from, want.Size(), func(at int, b []byte) error {
		for len(b) > 0 {
			chunk := buf[:min(len(b), len(buf))]
			n, err := f.ReadAt(chunk, int64(at))
			if !bytes.Equal(chunk[:n], b[:n]) || n < len(chunk) && err == io.EOF {
				return errDiffers
			}
			if n < len(chunk) {
				return err
			}
			at, b = at+n, b[n:]
		}
		return nil
	})
	if errors.Is(err, errDiffers) {
		return false, nil
	}
	if err != nil || !end {
		return err == nil, err
	}
	n, err := f.ReadAt(buf[:1], int64(want.Size()))
	if n > 0 {
		return false, nil // longer than want
	}
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

// readAll reads the whole file from offset 0. The buffer is sized from
// fstat, with room to see a file that grew since, so a big registry is read
// in one pass rather than through a buffer grown and copied a dozen times.
func readAll(f *os.File) ([]byte, error) {
	size := int64(0)
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	return readAllFrom(f, size)
}

// readAllFrom is readAll with the size it expects given: a file longer than
// that is still read whole.
func readAllFrom(f *os.File, size int64) ([]byte, error) {
	buf := hugemem.Buffer(int(size) + 512)
	for {
		n, err := f.ReadAt(buf[len(buf):cap(buf)], int64(len(buf)))
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
	}
}

// tornMark is the byte writeInPlace puts first while it rewrites a
// registry. No JSON document starts with it (it is neither whitespace nor
// the start of a value), and no reader, Python's json included, parses a
// file that does; no other writer writes it.
const tornMark = 0x00

// writeInPlace replaces the file's content through f with data, keeping
// its inode, and returns the offset it wrote data from. The file was seen
// to hold data[:held] (0 when nothing is known): those bytes are not
// written again, so that the fsyncs under the lock flush what changed, not
// the whole file (a counter at the end of a 24 MB registry is a page). A
// writer that takes no lock may have changed them since they were
// compared: before the file is unmarked, it is read back, and where it is
// not the mark and the rest of data, the rest of data is written whole, as
// a rewrite of the whole file does (from is then 1). step marks the points
// the crash tests stop at. beside, when set, runs during the last fsync,
// which mostly waits on the disk: the write is whole in the page cache by
// then, and can be read back.
//
// The invariant: until data is whole and durable, the file does not parse.
// A write cut short (SIGKILL, a full disk, a power cut) can never leave a
// document that parses and is neither the old one nor the new one, such as
// one agent's fields spliced into another's (a reader would take it for
// the truth, and the orchestrator's next write would make it so). The
// steps:
//  1. write tornMark over the first byte and fsync: from here the file is
//     unparseable, on disk too;
//  2. write data[1:] from offset 1 (from offset held where the file holds
//     data[:held]), truncate to len(data), fsync: the file is the mark and
//     the rest of data, still unparseable whatever part of this step a
//     crash lets through;
//  3. write data's first byte, fsync: only now can the file parse, and it
//     is data.
//
// A SIGKILL needs no fsync to keep this order (the page cache is one for
// every process); the fsyncs keep it across a power cut. A file left
// marked is recovered from the journal (recoverJournal's markedTornWrite).
func writeInPlace(f *os.File, data *pyjson.Spliced, held int, step func(string), beside func()) (from int, err error) {
	if data.Size() == 0 {
		if err := f.Truncate(0); err != nil {
			return 0, err
		}
		return 0, f.Sync()
	}
	if err := markTorn(f); err != nil {
		return 0, err
	}
	step("registry-marked")
	from = min(max(1, held), data.Size())
	if err := writeRest(f, data, from, step); err != nil {
		return from, err
	}
	if from > 1 {
		same, err := markedWith(f, data)
		if err != nil {
			return from, err
		}
		if !same { // another writer's bytes among ours: all of ours again
			from = 1
			if err := markTorn(f); err != nil {
				return from, err
			}
			if err := writeRest(f, data, from, func(string) {}); err != nil {
				return from, err
			}
		}
	}
	if err := f.Sync(); err != nil {
		return from, err
	}
	step("truncated")
	if err := writeRange(f, data, 0, 1); err != nil {
		return from, err
	}
	step("first-byte")
	var wg sync.WaitGroup
	if beside != nil {
		wg.Go(beside)
	}
	err = f.Sync()
	wg.Wait()
	if err != nil {
		return from, err
	}
	step("synced")
	return from, nil
}

// markedWith reports whether the file is tornMark and the rest of data.
func markedWith(f *os.File, data *pyjson.Spliced) (bool, error) {
	same, err := holdsFrom(f, pyjson.SplicedOf([]byte{tornMark}), 0, false)
	if err != nil || !same {
		return false, err
	}
	return holdsFrom(f, data, 1, true)
}

// markTorn writes tornMark over the file's first byte, durably.
func markTorn(f *os.File) error {
	if _, err := f.WriteAt([]byte{tornMark}, 0); err != nil {
		return err
	}
	return f.Sync()
}

// writeRest writes data[from:] at its place, in two halves (the crash
// tests stop between them), and ends the file with data.
func writeRest(f *os.File, data *pyjson.Spliced, from int, step func(string)) error {
	half := from + (data.Size()-from)/2
	if err := writeRange(f, data, from, half); err != nil {
		return err
	}
	step("registry-partial")
	if err := writeRange(f, data, half, data.Size()); err != nil {
		return err
	}
	step("registry-written")
	return f.Truncate(int64(data.Size()))
}

// writeRange writes data's bytes in [from, to) at their offsets, from
// its parts.
func writeRange(f *os.File, data *pyjson.Spliced, from, to int) error {
	return data.Each(from, to, func(at int, b []byte) error {
		_, err := f.WriteAt(b, int64(at))
		return err
	})
}

// syncDir makes a directory's entries (a journal created or removed, a
// backup renamed in) durable. File systems that cannot fsync a directory
// say EINVAL; there is nothing more to do on them.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}

// flushAhead writes what the page cache holds unwritten of the registry at
// path to disk, before a transaction takes its lock: a writer's rewrite
// that no one synced is then flushed while the lock is free, and the
// transaction's own fsyncs under it flush only what it changed. Nothing is
// created or waited on (a FIFO is opened without blocking, and left); a
// failure only leaves the flush to the transaction.
func flushAhead(path string) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		_ = unix.Fsync(fd)
	}
}
